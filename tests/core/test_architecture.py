"""The package's shape: no circle of module-level imports, a configuration schema that loads no
technology, engine or workload, and the built-ins named in one place (the composition root)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("archsim", "workloads", "plots")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _module_level_imports(path: Path, module: str, is_pkg: bool) -> set[str]:
    """Names imported when the module is executed (function bodies and TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()

    def visit(body):
        for node in body:
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")
                    base = base if is_pkg else base[:-1]
                    base = base[:len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names.add(target)
                names.update(f"{target}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules its execution imports (the target and its parent packages)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        edges: set[str] = set()
        for target in _module_level_imports(path, name, path.name == "__init__.py"):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                anc = ".".join(parts[:i])
                # importing a.b.c runs a, a.b and a.b.c; a module inside a package does not re-run it
                if anc in mods and anc != name and not name.startswith(anc + "."):
                    edges.add(anc)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = dfs(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found
    return None


def test_the_detector_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_circle_of_module_level_imports():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _loaded_after(statement: str) -> list[str]:
    code = (f"import sys; {statement}; "
            "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('archsim', 'workloads', 'plots', 'simpy', 'torch', 'dask'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.split()


def test_importing_the_schema_loads_no_technology_engine_or_workload():
    loaded = _loaded_after("import archsim.config")
    assert loaded == ["archsim", "archsim.config", "archsim.errors", "archsim.registry"], loaded


def test_loading_a_configuration_loads_the_builtins_through_the_composition_root():
    loaded = _loaded_after("import archsim.config as c; c.load_config(None)")
    for name in ("archsim.compose", "archsim.pcm", "archsim.racetrack", "archsim.timing.scheduling", "workloads"):
        assert name in loaded


def test_only_the_composition_root_imports_modules_for_their_registrations():
    """A module imports what it uses. An import only for its side effect (a registration, marked
    ``noqa: F401``) is the composition root's job, or a package's own ``__init__`` importing its
    own submodules."""
    offenders = []
    for name, path in _modules().items():
        if name == "archsim.compose":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if not stripped.startswith(("import ", "from ")) or "F401" not in stripped or "regist" not in stripped:
                continue
            target = stripped.split()[1]
            own = path.name == "__init__.py" and (target == name or target.startswith(name + "."))
            if not own:
                offenders.append(f"{name}: {stripped}")
    assert not offenders, offenders


def test_every_technology_registers_the_sections_it_names():
    from archsim.config import CONFIG_SECTIONS, Section
    from archsim.contracts import TECHNOLOGIES

    for name in TECHNOLOGIES.names():
        tech = TECHNOLOGIES.get(name)
        assert tech.sections, name
        for section in tech.sections:
            assert issubclass(CONFIG_SECTIONS.get(section), Section), (name, section)


def test_the_entry_points_name_a_wrong_argument():
    """A section or a dict for the configuration, one scheme as a string: one TypeError saying what to give
    (an AttributeError from deep inside, or 'unknown scheme d' from the string's letters, before)."""
    import pytest

    from archsim.compose import build
    from archsim.config import load_config
    from archsim.run import run_experiment
    from archsim.timing.runner import simulate

    cfg = load_config(None, ["run.iterations=2"])
    with pytest.raises(TypeError, match="a run needs a whole configuration .* not TimingConfig"):
        build(cfg.timing)
    with pytest.raises(TypeError, match="a run needs a whole configuration .* not dict"):
        run_experiment({"run": {}}, progress=False)
    for call in (lambda: build(cfg, schemes="dcw"), lambda: simulate(cfg, schemes="dcw")):
        with pytest.raises(TypeError, match=r"schemes must be a sequence of names, such as \('dcw',\)"):
            call()


def test_more_entry_points_name_a_wrong_argument(tmp_path):
    import pytest

    from archsim.config import load_config
    from archsim.timing.model import TimingModel
    from workloads import TraceWriter
    from workloads.bitstats import bit_statistics

    cfg = load_config(None)
    cases = [
        (lambda: load_config(None, "run.iterations=5"), r"overrides must be a list .* such as \['run.iterations=5'\]"),
        (lambda: TimingModel(cfg.timing, technology=None, scheme="dcw", layout=None), "needs a whole configuration"),
        (lambda: TimingModel(cfg, technology="pcm", scheme="dcw", layout=None), r"TECHNOLOGIES.get\('pcm'\)"),
        (lambda: bit_statistics(str(tmp_path / "x.trace")), r"open it with workloads.open_trace\(path\)"),
        (lambda: TraceWriter(tmp_path / "t.trace", {"tensors": []}), "meta must be a workloads.TraceMeta"),
    ]
    for call, message in cases:
        with pytest.raises(TypeError, match=message):
            call()


def test_run_experiment_and_its_readers_name_a_wrong_argument():
    import numpy as np
    import pytest

    from archsim.config import load_config
    from archsim.errors import ConfigError
    from archsim.pcm import open_stream
    from archsim.results import format_summary
    from archsim.run import run_experiment

    cfg = load_config(None, ["run.iterations=2", "run.schemes=['dcw']"])
    with pytest.raises(TypeError, match=r"observers are RunObserver objects, not 'timing' .*run.observers"):
        run_experiment(cfg, observers=["timing"], progress=False)
    with pytest.raises(ConfigError, match="workers must be at least 1, not -1"):
        run_experiment(cfg, workers=-1, progress=False)
    out = run_experiment(cfg, progress=False)
    with pytest.raises(TypeError, match=r"needs a run's summary table \(run_experiment\(...\).summary\), not RunOutput"):
        format_summary(out)
    assert "dcw" in format_summary(out.summary)
    s = open_stream("dcw", lines=4, words=16)
    s.feed(np.zeros((1, 4, 16), np.uint32))
    with pytest.raises(TypeError, match="integer line indexes, not float64"):
        s.lines_wear([1.7])      # it read line 1
    assert s.lines_wear([1, 3]).shape == (2, 16, 32)


def test_a_trace_cache_that_is_a_file_is_named(tmp_path):
    import pytest

    import workloads
    from archsim.errors import TraceError

    (tmp_path / "cache").write_text("not a folder")
    with pytest.raises(TraceError, match="trace cache .*cache: is a file, not a folder"):
        workloads.make_source("lenet-digits", iterations=2, seed=0, cache_dir=tmp_path / "cache")
    with pytest.raises(TraceError, match=r"trace cache .*cache/sub: cannot create the folder \(.*cache_dir / --cache"):
        workloads.make_source("lenet-digits", iterations=2, seed=0, cache_dir=tmp_path / "cache" / "sub")


def test_a_source_of_another_workload_is_named():
    # the tables were labelled with the configured workload while replaying the given one
    import pytest

    import workloads
    from archsim.config import load_config
    from archsim.errors import ConfigError
    from archsim.run import run_experiment

    src = workloads.make_source("lenet-digits", iterations=2, seed=0)
    with pytest.raises(ConfigError, match="source given is of workload 'lenet-digits'.*'mlp-digits'"):
        run_experiment(load_config(None, ["run.iterations=2", "run.workload.name=mlp-digits"]), source=src,
                       progress=False)


def test_a_sweeps_table_gives_ratios_per_point_and_format_summary_says_to_pick_one():
    import pandas as pd
    import pytest

    from archsim.config import load_config
    from archsim.results import format_summary, ratios
    from archsim.run import run_experiment

    runs = {}
    for line_bytes in (16, 64):
        cfg = load_config(None, ["run.iterations=3", "run.schemes=['preset', 'appwom']",
                                 f"layout.line_bytes={line_bytes}"])
        runs[line_bytes] = run_experiment(cfg, progress=False).summary
    frames = []
    for b, s in runs.items():  # the layout of archsim.sweep.load_results: the point, its swept keys, the run's columns
        t = s.copy()
        t.insert(0, "layout.line_bytes", b)
        t.insert(0, "point", f"p{b}")
        frames.append(t)
    table = pd.concat(frames, ignore_index=True)
    r = ratios(table)
    assert list(r.columns[:4]) == ["point", "layout.line_bytes", "scheme", "baseline"]
    assert list(r["point"]) == ["p16", "p64"] and list(r["layout.line_bytes"]) == [16, 64]
    for b, s in runs.items():
        one = ratios(s)
        assert r[r["point"] == f"p{b}"].drop(columns=["point", "layout.line_bytes"]).reset_index(drop=True).equals(one)
    assert r.loc[0, "energy_ratio"] != r.loc[1, "energy_ratio"]
    with pytest.raises(ValueError, match=r"scheme 'preset' has more than one row \(a sweep's combined table: "
                                         r"format one point's rows, e.g. table\[table.point == 'p16'\]"):
        format_summary(table)
    assert "appwom" in format_summary(table[table["point"] == "p64"])
    with pytest.raises(ValueError, match="more than one row of scheme 'preset' and no 'point' column"):
        ratios(pd.concat([runs[16], runs[64]]))
    one = ratios(table[table["point"] == "p16"])   # a sweep of one point keeps its point columns
    assert list(one.columns[:2]) == ["point", "layout.line_bytes"] and list(one["point"]) == ["p16"]
    with pytest.raises(ValueError, match="point 'p16' holds more than one row of scheme 'preset'"):
        ratios(pd.concat([table, table]))   # two sweeps' tables, or the flips table: not a recursion
    with pytest.raises(ValueError, match=r"ratios: scheme 'AppWOM' is not in the table \(its schemes: preset, appwom\)"):
        ratios(table, scheme="AppWOM")
    assert list(ratios(table, scheme="preset", against=("appwom",))["baseline"]) == ["appwom", "appwom"]
    with pytest.raises(ValueError, match=r"ratios: column 'energy_pj' holds 'x' for appwom and .* for preset, not"):
        ratios(runs[16].astype({"energy_pj": object}).assign(energy_pj=["1.0", "x"]))
    with pytest.raises(ValueError, match="rows without a point"):
        ratios(table.assign(point=[None] + list(table["point"][1:])))


def test_what_a_run_does_not_read_follows_its_observers_sections(monkeypatch):
    from archsim.config import load_config
    from archsim.observers import OBSERVERS
    from archsim.run import unread_settings
    from archsim.timing.observer import TimingObserver

    class Ddr(TimingObserver):   # a plugin's timing model under a name of its own reads [timing] too
        pass

    monkeypatch.setitem(OBSERVERS._items, "timing-ddr", Ddr)
    assert "timing" in unread_settings(load_config(None, []))
    for name in ("timing", "timing-ddr"):
        assert "timing" not in unread_settings(load_config(None, [f'run.observers=["{name}"]']))
    assert "racetrack" in unread_settings(load_config(None, []))   # PCM's run does not read [racetrack]
    assert "run.workload" in unread_settings(load_config(None, ["run.trace=x.trace"]))
