"""Configuration: defaults, files, overrides, and one clear error naming the key."""
import pytest

from archsim.config import Config, config_from_mapping, load_config, read_config_data
from archsim.pcm.config import PcmConfig
from archsim.errors import ConfigError


def test_table_ii_defaults():
    p = PcmConfig()
    assert (p.read_latency_ns, p.set_latency_ns, p.reset_latency_ns) == (125, 1000, 125)
    assert (p.read_energy_pj_per_bit, p.set_energy_pj, p.reset_energy_pj) == (2, 13.5, 19.2)
    assert p.endurance == 1e8
    assert Config().layout.words_per_line == 16


def test_toml_yaml_and_overrides(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[pcm]\nset_latency_ns = 800\n[encoding.schemes.appwom]\ngrouping = "adjacent"\n')
    cfg = load_config(toml, ["pcm.reset_energy_pj=20", "run.schemes=preset,appwom"])
    assert cfg.pcm.set_latency_ns == 800 and cfg.pcm.reset_energy_pj == 20
    assert cfg.encoding.schemes["appwom"]["grouping"] == "adjacent"
    assert cfg.run.schemes == ("preset", "appwom")
    yml = tmp_path / "c.yaml"
    yml.write_text("layout:\n  word_bits: 16\n  line_bytes: 32\n")
    assert load_config(yml).layout.words_per_line == 16


def test_round_trip_through_toml(tmp_path):
    cfg = load_config(None, ["encoding.refresh_unit=word", "pcm.write_power_budget=128"])
    f = tmp_path / "resolved.toml"
    f.write_text(cfg.to_toml())
    assert load_config(f) == cfg


@pytest.mark.parametrize(
    "data, key",
    [
        ({"pcm": {"set_latency": 5}}, "pcm.set_latency"),
        ({"pcm": {"set_latency_ns": -1}}, "pcm.set_latency_ns"),
        ({"pcm": {"endurance": 0}}, "pcm.endurance"),
        ({"pcm": {"set_energy_pj": "cheap"}}, "pcm.set_energy_pj"),
        ({"layout": {"word_bits": 12}}, "layout.word_bits"),
        ({"layout": {"line_bytes": 6}}, "layout.line_bytes"),
        ({"encoding": {"refresh_unit": "page"}}, "encoding.refresh_unit"),
        ({"encoding": {"schemes": {"appwom": {"grouping": "fig7"}}}}, "encoding.schemes.appwom.grouping"),
        ({"encoding": {"schemes": {"appwom": {"polarity": "10"}}}}, "encoding.schemes.appwom.polarity"),
        ({"run": {"schemes": ["preset", "nope"]}}, "run.schemes"),
        ({"run": {"iterations": 0}}, "run.iterations"),
        ({"run": {"seed": float("nan")}}, "run.seed must be an integer, not nan"),
        ({"run": {"chunk_iterations": float("inf")}}, "run.chunk_iterations must be an integer, not inf"),
        ({"layout": {"word_bits": float("-inf")}}, "layout.word_bits must be an integer, not -inf"),
        ({"colour": {}}, "colour"),
    ],
)
def test_bad_values_name_the_key(data, key):
    with pytest.raises(ConfigError) as err:
        config_from_mapping(data, source="exp.toml")
    assert key in str(err.value) and str(err.value).startswith("exp.toml:")


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[pcm\nx=1")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["pcm.set_latency_ns"])
    with pytest.raises(ConfigError, match=r"\.toml, \.yaml or \.yml"):
        other = tmp_path / "c.json"
        other.write_text("{}")
        load_config(other)


@pytest.mark.parametrize("override, message", [
    ("encoding.schemes=3", "encoding.schemes must be a table"),
    ("encoding.schemes.appwom=3", "encoding.schemes.appwom must be a table"),
    ("run.knobs=3", "run.knobs must be a table"),
])
def test_tables_that_are_not_tables_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_replace_into_a_value_names_the_key():
    from archsim.config import replace

    with pytest.raises(ConfigError, match="set_latency_ns is not a table of keys"):
        replace(Config(), {"pcm.set_latency_ns.x": 1})


def test_a_directory_and_a_yaml_key_given_twice_are_one_error(tmp_path):
    with pytest.raises(ConfigError, match="is a directory; name the config file"):
        load_config(tmp_path)
    f = tmp_path / "twice.yaml"
    f.write_text("run:\n  seed: 1\n  iterations: 5\n  seed: 2\n")
    with pytest.raises(ConfigError, match=r"twice.yaml: not valid YAML: key 'seed' given twice \(at line 4"):
        load_config(f)
    f.write_text("run:\n  seed: 1\npcm:\n  endurance: 1e8\n")  # the same key in two tables is fine
    assert load_config(f).run.seed == 1
    # a merge key's keys may be overridden: that is not a key given twice
    f.write_text("common: &c {seed: 1, iterations: 5}\nrun:\n  <<: *c\n  seed: 2\n")
    data = read_config_data(f)
    assert data["run"] == {"seed": 2, "iterations": 5}


def test_yaml_error_is_one_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("pcm:\n  set_latency_ns: [1, 2\n")
    with pytest.raises(ConfigError) as exc:
        load_config(f)
    assert "\n" not in str(exc.value) and "bad.yaml: not valid YAML" in str(exc.value) and "line" in str(exc.value)


def test_a_config_file_that_is_not_utf8_is_one_error_naming_file_and_line(tmp_path):
    p = tmp_path / "c.toml"
    p.write_bytes(b"[pcm]\nset_energy_pj = 1.0  # \xe9nergie\n")
    with pytest.raises(ConfigError, match=r"c\.toml: line 2: not UTF-8 text \(byte 0xe9\)"):
        load_config(p)
    p.write_bytes("[pcm]\nset_energy_pj = 1.0\n".encode("utf-8-sig"))
    assert load_config(p).pcm.set_energy_pj == 1.0


def test_old_keys_load_with_a_note_naming_the_new_key(caplog):
    cfg = load_config(None, ["timing.write_high_watermark=20", "timing.region_lines=4", "run.knobs.lr=0.5"])
    assert cfg.timing.scheduling.params.write_high_watermark == 20
    assert cfg.run.workload.params.lr == 0.5
    notes = [r.getMessage() for r in caplog.records]
    assert any("timing.write_high_watermark is now timing.scheduling.write_high_watermark" in n for n in notes)
    assert any("timing.region_lines (now timing.region_manager.region_lines) is not a parameter of region "
               "manager 'ping-pong': ignored" in n for n in notes)
    assert any("run.knobs is now run.workload" in n for n in notes)


def test_a_choice_takes_its_implementations_parameters_only():
    cfg = load_config(None, ["timing.scheduling.write_high_watermark=16"])
    assert cfg.timing.scheduling.name == "read-first" and cfg.timing.scheduling.params.write_high_watermark == 16
    with pytest.raises(ConfigError, match=r"timing\.scheduling: unknown parameter 'write_high_watermark' of "
                                          r"scheduling policy 'fcfs'; its parameters: none"):
        load_config(None, ["timing.scheduling=fcfs", "timing.scheduling.write_high_watermark=16"])
    with pytest.raises(ConfigError, match=r"timing\.scheduling: watermarks must satisfy"):
        load_config(None, ["timing.scheduling.write_high_watermark=40"])
    with pytest.raises(ConfigError, match=r"timing\.scheduling must name the scheduling policy"):
        config_from_mapping({"timing": {"scheduling": {"name": 3}}})
    # a table without a name sets the parameters of the default implementation
    assert config_from_mapping({"timing": {"scheduling": {"write_low_watermark": 2}}}).timing.scheduling.name == \
        "read-first"


@pytest.mark.parametrize("override, message", [
    ("layout.line_bytes=100000000", "layout.line_bytes must be at most 65536"),
    ("pcm.set_energy_pj=1e300", "pcm.set_energy_pj must be at most 1e+15"),
    ("pcm.endurance=1e308", "pcm.endurance must be at most 1e+15"),
    ("racetrack.tracks=100000000", "racetrack: tracks x data_per_track"),
    ("racetrack.insert_latency_ns=1e300", "racetrack.insert_latency_ns must be at most"),
    ("dap.lossy_set_latency_ns=1e300", "dap.lossy_set_latency_ns must be at most"),
    ("timing.gap_ns=1e300", "timing.gap_ns must be at most"),
    ("run.seed=10000000000000000000000", "run.seed must be in 0..2..63-1"),
    ("run.iterations=10000000000000000000000", "run.iterations must be at most 1e+15"),  # an integer, bounded too
    ("pcm.set_energy_pj=" + "9" * 5000, "override pcm.set_energy_pj: 9999999999999999... .5,000 characters.: a number "
                                        "too long to read"),   # an integer, bounded too
    ("analog.ltp_pulse_ns=1e305", "analog.ltp_pulse_ns must be positive and at most 1e+15"),
    ("analog.ltd_voltage_v=1e150", "analog.ltd_voltage_v must be positive and at most 1000"),
    ("analog.levels=10000000000000000000000", "analog.levels must be in 2..1048576"),
    ("analog.rows=100000", "analog.rows must be at most 65536"),
    ("timing.banks=1000000", "channels x ranks x banks = 2,000,000 banks"),
    ("timing.capacity_bytes=10000000000000000000000", "timing.capacity_bytes must be at most"),
    ("encoding.schemes.appwom.region_lines=100000000000000000000000", "region_lines must be a positive integer of"),
])
def test_magnitudes_are_bounded_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("+", r"\+").replace("(", r"\(")):
        load_config(None, [override])


@pytest.mark.parametrize("overrides, message", [
    (["timing.scheduling=fr-fcfs", "timing.scheduling.hit_cap=10000000000"],
     "timing.scheduling.hit_cap must be a positive integer of at most 16,777,216"),
    (["timing.scheduling=write-pause", "timing.scheduling.iteration_ns=1e300"],
     "timing.scheduling.iteration_ns must be at most 1e+15"),
    (["timing.scheduling=write-pause", "timing.scheduling.iteration_ns=inf"],
     "timing.scheduling.iteration_ns must be finite"),
    (["timing.page_policy=open", "timing.page_policy.row_hit_ns=1e300"],
     "timing.page_policy.row_hit_ns must be at most 1e+15"),
    (["timing.page_policy=closed", "timing.page_policy.array_read_ns=1e300"],
     "timing.page_policy.array_read_ns must be at most 1e+15"),
])
def test_policy_parameters_are_bounded_before_the_kernel_reads_them(overrides, message):
    # unbounded, they reached the compiled kernel's C integers: an OverflowError traceback
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        load_config(None, overrides)


def test_a_seed_may_be_any_int64():
    assert load_config(None, [f"run.seed={2**62}", f"timing.seed={2**63 - 1}"]).run.seed == 2**62


def test_an_unused_key_of_older_configs_is_ignored_with_a_note(caplog):
    load_config(None, ["pcm.capacity_bytes=5"])
    assert any("pcm.capacity_bytes is not used any more" in r.getMessage() for r in caplog.records)


def test_a_row_larger_than_a_bank_is_an_error_not_a_clamp():
    from archsim.timing.organisation import Organisation

    cfg = load_config(None, ["timing.row_lines=2000000", "timing.capacity_bytes=1073741824"])  # banks of 64 MiB
    with pytest.raises(ConfigError, match="timing.row_lines = 2000000 lines of 64 bytes is a row of"):
        Organisation.from_config(cfg.timing, cfg.layout.line_bytes)


def test_a_huge_matrix_is_refused():
    from archsim.racetrack.matrix import layout_report

    with pytest.raises(ConfigError, match=r"at most 16,777,216 \(2\^24\) are counted"):
        layout_report(100000, 100000, 100000)


def test_a_new_key_wins_over_its_old_spelling(caplog):
    cfg = config_from_mapping({"timing": {"write_high_watermark": 20, "scheduling": {"write_high_watermark": 16}},
                               "run": {"knobs": {"lr": 0.1, "momentum": 0.5}, "workload": {"lr": 0.5}}})
    assert cfg.timing.scheduling.params.write_high_watermark == 16
    assert cfg.run.workload.params.lr == 0.5 and cfg.run.workload.params.momentum == 0.5
    notes = " ".join(r.getMessage() for r in caplog.records)
    assert "timing.write_high_watermark is ignored: timing.scheduling.write_high_watermark is given too" in notes
    assert "lr given in both: run.workload wins" in notes


def test_changing_a_choice_keeps_the_parameters_the_new_one_takes(caplog):
    data = {"run": {"workload": {"name": "lenet-digits", "lr": 0.1}},
            "timing": {"scheduling": {"name": "read-first", "write_high_watermark": 20}}}
    from archsim.config import config_with

    cfg = config_with(data, {"run.workload": "mlp-digits", "timing.scheduling": "fcfs"})
    assert cfg.run.workload.name == "mlp-digits" and cfg.run.workload.params.lr == 0.1  # the knob given stays
    assert cfg.timing.scheduling.name == "fcfs"
    assert any("scheduling policy 'fcfs' takes no write_high_watermark" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("key", ["pcm.set_latency_ns", "pcm.read_latency_ns", "racetrack.shift_latency_ns",
                                 "dap.lossy_set_latency_ns"])
def test_a_latency_below_the_timing_clocks_picosecond_is_refused(key):
    with pytest.raises(ConfigError, match=rf"{key} = 0.0004 ns is below 1 ps, the resolution of the timing model"):
        load_config(None, [f"{key}=0.0004"])
    assert load_config(None, [f"{key}=0.001"])  # 1 ps: served in 1 ps
