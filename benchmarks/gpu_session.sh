#!/usr/bin/env bash
# Every GPU benchmark in one call of a lent GPU machine: the fashn and catvton engines against their
# references, and the training step's speed. A lease is short (minutes), so each benchmark runs
# under its own time limit inside one total budget: a failure or a slow compile costs only its own
# share, and each one's log is kept in $OUT (or out/gpu) as it is written.
#
# Usage, in the repository root of the GPU machine: benchmarks/gpu_session.sh [BUDGET_SECONDS]
# It runs under the machine's python3 (torch, accelerate, transformers, peft, einops, opencv).
# Wheels in .whl/ (diffusers, where the machine lacks it) are installed first into /tmp/site.
# FASHN's reference code is read from $TRYON_ORACLES/fashn-vton-1.5 (default ../shared/oracles).
set -u
out=${OUT:-out/gpu}
budget=${1:-450}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}

# NAME LIMIT SCRIPT [ARGS...]: one benchmark, cut to the budget left, skipped when under a minute is left.
step() {
    local name=$1 limit=$2 left=$((budget - SECONDS))
    shift 2
    if ((left < 60)); then
        echo "== $name: skipped, $left s of the budget left"
        return
    fi
    ((limit > left)) && limit=$left
    echo "== $name: python3 $* (at most $limit s)"
    timeout "$limit" python3 "$@" > "$out/$name.log" 2>&1
    echo "== $name: exit $?, $SECONDS s into the session"
    grep -v -i -E "warn|^\s*$" "$out/$name.log" | tail -n 14
}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
    python3 -c "import sys, torch, diffusers; print(sys.version.split()[0], 'torch', torch.__version__,
'cuda', torch.version.cuda, 'diffusers', diffusers.__version__)"
} > "$out/machine.log" 2>&1
cat "$out/machine.log"

step fashn 210 benchmarks/fashn_speed.py --compile both
step catvton 150 benchmarks/catvton_speed.py --repeats 2
step train 150 benchmarks/train_speed.py
step train_nockpt 90 benchmarks/train_speed.py --sizes 384x512 --batch 16 --no-checkpointing
step catvton_compile 240 benchmarks/catvton_speed.py --repeats 2 --skip-fp32 --compile yes
