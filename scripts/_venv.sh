# Sourced by the quick-start scripts: make ./.venv with archsim installed (editable), once for both.
#
# One environment serves `scripts/run.sh` and `scripts/test.sh`: whichever runs first installs the
# dependencies of both (the test tools and PyTorch's CPU build, for the recorder), so the second
# starts at once. Re-installs only when pyproject.toml, setup.py or a kernel source changed.
# ARCHSIM_EXTRAS=test (say) installs fewer extras; the default is "test,torch".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The built-in trainer's traces, and so every figure built on them, depend on the matrix kernels OpenBLAS
# picks for the CPU: its AVX-512 kernels (SkylakeX) round a GEMM differently from its AVX2 ones. The
# committed figures and golden tables were made with the Haswell kernels, which every CPU with AVX2 and
# FMA runs, so both quick-start commands use them unless OPENBLAS_CORETYPE is already set
# (docs/user-guide.md, "Reproducibility").
if [ -z "${OPENBLAS_CORETYPE-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then
  export OPENBLAS_CORETYPE=Haswell
fi
extras="${ARCHSIM_EXTRAS-test,torch}"
py="${PYTHON:-python3}"
stamp=".venv/.archsim-installed"
log=".venv/install.log"
# the newest build input (no .pxd may exist: ls then fails, which pipefail would make fatal)
newest=$(ls -t pyproject.toml setup.py cython_kernels/*.pyx cython_kernels/*.pxd cython_kernels/*.h 2>/dev/null | head -1) || true
up_to_date() {  # installed after the newest input, with (at least) these extras
  [ -f "$stamp" ] && ! [ "$newest" -nt "$stamp" ] || return 1
  local e
  for e in ${extras//,/ }; do grep -qx "$e" "$stamp" || return 1; done
}
if [ -x .venv/bin/python ] && up_to_date && .venv/bin/python -c "import archsim._pcm_kernels" 2>/dev/null; then
  return 0 2>/dev/null || exit 0
fi

t0=$SECONDS
step() { echo "archsim: [$1/3] $2 (at $((SECONDS - t0)) s)" >&2; }
fail() { tail -n 40 "$log" >&2; echo "archsim: installation failed at: $1 (whole log: $root/$log)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv || { echo "archsim: cannot create .venv with $py" >&2; exit 1; }
fi
: > "$log"
step 1 "installing the dependencies into .venv (log: $log)"
{
  .venv/bin/python -m pip install --upgrade pip
  # the build requirements too: the kernels are compiled in this environment, not an isolated copy
  .venv/bin/python - "$extras" <<'EOF' > .venv/requirements.txt
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))
reqs = project["build-system"]["requires"] + project["project"]["dependencies"]
for extra in filter(None, sys.argv[1].split(",")):
    reqs += project["project"]["optional-dependencies"][extra]
print("\n".join(r for r in reqs if not r.startswith("torch")))
EOF
  if [[ ",$extras," == *",torch,"* ]]; then
    # the CPU build lies on disk; ask for it by exact version so no CUDA build is pulled
    .venv/bin/python -m pip install "torch==2.13.0"
  fi
  .venv/bin/python -m pip install -r .venv/requirements.txt
} >> "$log" 2>&1 || fail "dependencies"
jobs=$(.venv/bin/python -c "import os; print(len(os.sched_getaffinity(0)))")
step 2 "compiling the Cython kernels on $jobs cores"
# pip -v shows the build's lines; keep the one per kernel and stage
set +e
.venv/bin/python -m pip install -v --no-build-isolation --no-deps -e ".${extras:+[$extras]}" 2>&1 | tee -a "$log" |
  grep --line-buffered -oE 'Cythonizing cython_kernels/[A-Za-z0-9_]+\.pyx| -c cython_kernels/[A-Za-z0-9_]+\.c' |
  sed -u -E 's/Cythonizing cython_kernels\//archsim:       cython /; s/ -c cython_kernels\//archsim:       gcc    /' >&2
built=${PIPESTATUS[0]}
set -e
[ "$built" -eq 0 ] || fail "compiling the kernels"
step 3 "checking the installation"
.venv/bin/python -c "import archsim._pcm_kernels, archsim._timing_kernel" >> "$log" 2>&1 || fail "importing the kernels"
printf '%s\n' ${extras//,/ } > "$stamp"
echo "archsim: installed in $((SECONDS - t0)) s" >&2
