# Sourced by the quick-start scripts: make ./.venv with archsim installed (editable).
# Re-installs only when pyproject.toml, setup.py or a kernel source changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${ARCHSIM_EXTRAS:-}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip > .venv/install.log 2>&1 || true
fi
stamp=".venv/.archsim-installed${extras:+-$extras}"
# the newest build input (no .pxd may exist: ls then fails, which pipefail would make fatal)
newest=$(ls -t pyproject.toml setup.py cython_kernels/*.pyx cython_kernels/*.pxd cython_kernels/*.h 2>/dev/null | head -1) || true
up_to_date() {  # an install with these extras (any install, when none are asked for) newer than the inputs
  local f
  for f in .venv/.archsim-installed*; do
    [ -f "$f" ] || continue
    if [ -z "$extras" ] || [ "$f" = "$stamp" ]; then
      [ "$newest" -nt "$f" ] || return 0
    fi
  done
  return 1
}
if ! up_to_date || ! .venv/bin/python -c "import archsim._pcm_kernels" 2>/dev/null; then
  echo "archsim: installing into .venv (first run compiles the Cython kernels; log: .venv/install.log) ..." >&2
  {
    if [[ ",$extras," == *",torch,"* ]]; then
      # the CPU build lies on disk; ask for it by exact version so no CUDA build is pulled
      .venv/bin/python -m pip install "torch==2.13.0"
    fi
    .venv/bin/python -m pip install -e ".${extras:+[$extras]}"
  } > .venv/install.log 2>&1 || { cat .venv/install.log >&2; echo "archsim: installation failed (log above)" >&2; exit 1; }
  touch "$stamp"
fi
