#!/usr/bin/env bash
# The first run on a GPU (issue #16 §6), in one command, under 8 minutes on one GPU:
#   1. scores ARCHS NB201 architectures (synthetic data) with --proxy all, with 1 and with WORKERS workers per GPU,
#      and checks that the two results files hold bit-equal scores (exit 1 if not);
#   2. prints the per-proxy seconds of the 1-worker run;
#   3. `zcbench bench` (per proxy: seconds, and the network builds and host syncs where bench counts them);
#   4. `zcbench bench-engine` (arch/s for 0..WORKERS workers, peak GPU memory per worker);
#   5. writes OUT/gpu_check.md: one Markdown table ready for the README (raw outputs beside it).
# Usage: scripts/gpu_check.sh [--device cuda:0] [--archs 50] [--workers 4] [--bench-archs 3] [--engine-archs 20]
#                             [--engine-workers N] [--proxy NAME ...] [--out DIR]
# CPU dry run (what CI runs): scripts/gpu_check.sh --device cpu --archs 3 --workers 2 --proxy params --proxy synflow
set -euo pipefail

DEVICE=cuda:0 ARCHS=50 WORKERS=4 BENCH_ARCHS=3 ENGINE_ARCHS=20 ENGINE_WORKERS= OUT=gpu-check PROXIES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --archs) ARCHS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --bench-archs) BENCH_ARCHS=$2; shift 2 ;;
    --engine-archs) ENGINE_ARCHS=$2; shift 2 ;;
    --engine-workers) ENGINE_WORKERS=$2; shift 2 ;;
    --proxy) PROXIES+=(--proxy "$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#PROXIES[@]} -gt 0 ] || PROXIES=(--proxy all)
ENGINE_WORKERS=${ENGINE_WORKERS:-$WORKERS}
PYTHON=${PYTHON:-python}
ZCBENCH=("$PYTHON" -m zcbench)
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
rm -f "$OUT"/w1.h5 "$OUT"/wN.h5 "$OUT"/*.journal

say() { printf '\n== %s\n' "$*"; }
timed() {  # timed NAME COMMAND...: run it, keep its seconds in $OUT/NAME.seconds
  local name=$1; shift
  local t0; t0=$("$PYTHON" -c 'import time; print(time.time())')
  "$@"
  "$PYTHON" -c "import time; print(f'{time.time() - $t0:.1f}')" > "$OUT/$name.seconds"
}

say "environment"
"$PYTHON" - "$DEVICE" > "$OUT/environment.txt" <<'EOF'
import sys, torch, zcbench
dev = sys.argv[1]
gpu = torch.cuda.get_device_name(torch.device(dev)) if dev.startswith("cuda") else "cpu"
print(f"zcbench {zcbench.__version__}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"cuDNN {torch.backends.cudnn.version()}, device {dev}: {gpu}")
EOF
cat "$OUT/environment.txt"

SCORE=(score --space nb201 --sample "$ARCHS" "${PROXIES[@]}" --synthetic --device "$DEVICE" --quiet)
say "score: $ARCHS NB201 architectures, ${PROXIES[*]}, 1 worker per device"
timed w1 "${ZCBENCH[@]}" "${SCORE[@]}" --workers 1 --out "$OUT/w1.h5"
say "score: the same with $WORKERS workers per device"
timed wN "${ZCBENCH[@]}" "${SCORE[@]}" --workers "$WORKERS" --out "$OUT/wN.h5"

say "zcbench bench"
"${ZCBENCH[@]}" bench --device "$DEVICE" --archs "$BENCH_ARCHS" "${PROXIES[@]}" | tee "$OUT/bench.txt"
say "zcbench bench-engine"
"${ZCBENCH[@]}" bench-engine --device "$DEVICE" --archs "$ENGINE_ARCHS" --max-workers "$ENGINE_WORKERS" \
  "${PROXIES[@]}" | tee "$OUT/bench-engine.txt"

say "bit-equality of the 1-worker and $WORKERS-worker results, per-proxy seconds, the table"
"$PYTHON" "$HERE/gpu_check_table.py" "$OUT" "$WORKERS"
