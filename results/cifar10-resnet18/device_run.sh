#!/bin/bash
# What a lent GPU ran for this study, in two calls on one machine (15 minutes of device time in
# all, the machine's start included):
#
#   bash results/cifar10-resnet18/device_run.sh bench          # step costs; decodes the data
#   bash results/cifar10-resnet18/device_run.sh study SECONDS  # trains and evaluates in SECONDS
#
# `bench` times one compiled train step per objective (benchmarks/step_cost.py: ResNet-18 and,
# for comparison with the CPU study, resnet-small w16), checks the training path end to end on a
# small model, and decodes the images into the cache. `study` picks the epochs that fit its time
# (epochs_that_fit.py, from bench's step costs) and runs study.sh. Everything lands in $OUT
# (default /tmp/gj/out); study's outputs as one archive (runs' logs and metrics, no checkpoints;
# the evaluation's metrics, reports and figures, none of them showing a CIFAR image).
# Data: .device/cifar10-jpeg.tar.xz in the repository root (xz -6 of cifar10-jpeg.tar, 19 MB,
# ignored by git: a call carries it to the machine).
set -uo pipefail
cd "$(dirname "$0")/../.."
W=/tmp/gj
OUT=${OUT:-$W/out}
mkdir -p "$W" "$OUT"
export GRADJAX_CACHE=$W/cache PYTHONPATH=$PWD PYTHONUNBUFFERED=1
DATA=$W/cifar10-jpeg.tar.xz
# Copied once: the decoded cache is keyed on the file's mtime, which a second copy would change.
[ -e "$DATA" ] || cp .device/cifar10-jpeg.tar.xz "$DATA"
HERE=results/cifar10-resnet18
# Decodes the images into the cache (on the CPU: the GPU's memory stays free for the runs).
decode() {
  JAX_PLATFORMS=cpu python3 -c "from gradjax.data import load_dataset
print(load_dataset('folder', '$DATA').train_images.shape)"
}

bench() {
  date +%s > "$W/bench_started"  # the second call's time budget counts from here
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv |
    tee "$OUT/device.txt"
  python3 -c "import jax, flax, optax, chex, orbax.checkpoint, numpy; print('jax', jax.__version__,
    'flax', flax.__version__, 'optax', optax.__version__, 'chex', chex.__version__, 'numpy',
    numpy.__version__, jax.devices())" | tee -a "$OUT/device.txt"
  (time decode) > "$W/decode.log" 2>&1 &
  timeout 180 python3 benchmarks/step_cost.py --model resnet18 --width 64 --repeats 20 |
    tee "$W/step_cost.jsonl" "$OUT/step_cost_resnet18.jsonl"
  wait
  cat "$W/decode.log"
  timeout 45 python3 benchmarks/step_cost.py --model resnet-small --width 16 --repeats 20 |
    tee "$OUT/step_cost_resnet_small_w16.jsonl"
  rm -rf "$W/check"
  timeout 45 python3 train.py --dataset folder --data-dir "$DATA" --augment --model resnet-small \
    --width 8 --train-subset 2560 --epochs 1 --no-diagnostics --workdir "$W/check" --no-progress \
    2>&1 | tail -2
}

study() {
  local seconds=$1 started eval_s=180 left epochs
  started=$(date +%s)
  # A fresh machine (bench not run on it): a shorter measurement of the step costs first.
  [ -s "$W/step_cost.jsonl" ] || timeout 150 python3 benchmarks/step_cost.py --model resnet18 \
    --width 64 --repeats 3 > "$W/step_cost.jsonl"
  decode
  left=$((seconds - ($(date +%s) - started) - eval_s - 20))
  epochs=$(python3 "$HERE/epochs_that_fit.py" "$W/step_cost.jsonl" "$left" --margin 1.3)
  epochs=${epochs:-2}  # no step costs measured: a guess
  bash "$HERE/study.sh" "$DATA" "$epochs" "$W/runs" "$W/evaluation" "$left" "$eval_s"
  tar czf "$OUT/study.tgz" -C "$W" --exclude=checkpoints --exclude='cache-*' runs evaluation
  ls -la "$OUT"
}

"$@"
