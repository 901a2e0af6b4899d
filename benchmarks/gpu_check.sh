#!/usr/bin/env bash
# The torch trainer on a GPU machine, in one short prepared run (about 5 minutes on an H100/H200):
#   1. the GPU tests (stacked == alone within tolerance on CUDA; pytest -m gpu),
#   2. the digits CNN study file, unchanged, through `rigorlab run`: trials on cuda, GPU in provenance,
#   3. the benchmark: replicates/s one at a time vs batched, MLP 64-256-256-10 (batch 64, as the issue's
#      hand-written measurement) and the digits CNN, at 1, 8, 32 and 128 replicates.
# Everything it measures goes to $OUT (or benchmarks/results/ when OUT is unset): copy those files into
# benchmarks/results/ and the figures into benchmarks/RESULTS.md.
#
# The GPU image has python3 with torch, transformers, pandas, scikit-learn... but not pydantic, and it
# cannot reach a package index. So, on the development machine first (once):
#     bash benchmarks/gpu_check.sh --fetch-wheels      # pydantic's wheels for Python 3.12 into .gpu_wheels/
#     echo /.gpu_wheels/ >> .git/info/exclude
# then with the device tool: run(command="bash benchmarks/gpu_check.sh", carry=[".gpu_wheels"], timeout_s=600)
set -uo pipefail

if [[ "${1:-}" == "--fetch-wheels" ]]; then
    PIP_PYTHON="python3"
    [[ -x .venv/bin/python ]] && PIP_PYTHON=".venv/bin/python"
    "$PIP_PYTHON" -m pip download --dest .gpu_wheels --only-binary=:all: --python-version 3.12 \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
        "pydantic>=2.7" pydantic-core annotated-types typing-inspection typing-extensions
    exit $?
fi

OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export RIGORLAB_STORE="$(mktemp -d)/store"
PY=python3

{
    echo "== machine"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    $PY -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
    if ! $PY -c "import pydantic" 2>/dev/null; then
        $PY -m pip install --quiet --no-index --find-links .gpu_wheels pydantic || echo "pydantic missing: run --fetch-wheels first"
    fi

    echo "== 1. GPU tests"
    timeout 240 $PY -m pytest -q -p no:cacheprovider -m gpu tests/models/test_torch_equivalence.py \
        -W "ignore::DeprecationWarning" -W "ignore::FutureWarning"

    echo "== 2. the digits CNN study on the GPU, unchanged"
    timeout 240 $PY -m rigorlab run examples/digits_cnn.yaml --jobs 1
    $PY - <<'EOF'
import json
from rigorlab import open_store

store = open_store()
trials = store.trials("digits-cnn")
key = trials.key.iloc[0]
provenance = store.provenance("digits-cnn", key)
tags = store.trial_tags("digits-cnn", key)
print(json.dumps({
    "trials": len(trials), "failed": int((trials.status != "done").sum()),
    "device_tag": tags.get("device"), "batched_tag": tags.get("batched"),
    "gpus_in_provenance": provenance["environment"]["gpus"],
    "accuracy_by_arm": trials.groupby("arm").accuracy.mean().round(4).to_dict(),
}, indent=2))
EOF
} 2>&1 | tee "$LOG"

echo "== 3. benchmark" | tee -a "$LOG"
timeout 420 $PY benchmarks/bench_torch.py --device cuda --threads 0 --mlp-hidden 256 --mlp-batch 64 --sample 2 \
    > "$OUT/bench_torch_gpu.json" 2>> "$LOG"
cat "$OUT/bench_torch_gpu.json"
