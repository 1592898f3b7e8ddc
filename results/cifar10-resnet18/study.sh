#!/bin/bash
# The cifar10-resnet18 preset on one accelerator, at EPOCHS epochs instead of 200: the four
# objectives (ResNet-18) and the GAN-test classifier (VGG-11, seed 1) trained side by side as
# processes sharing the accelerator (their compilations overlap on the CPU cores, their kernels
# take turns), then evaluated as the CPU study is (results/cifar10-6ep/study.sh): accuracy (final
# and per epoch) and density ratios on all 10,000 test images; pixel perturbation and the
# held-out score-matching objective on 2,000; GAN-test on 100 samples a class from noise. The
# three evaluations run side by side too.
#
#   bash results/cifar10-resnet18/study.sh DATA EPOCHS RUNS_DIR OUT_DIR [TRAIN_S [EVAL_S]]
#
# DATA: cifar10-jpeg.tar (or .tar.xz). TRAIN_S, EVAL_S: wall-clock limits of the training and
# evaluation phases in seconds (0, the default: none); a run stopped by its limit is evaluated at
# its last epoch. EPOCHS for a time budget: epochs_that_fit.py. Each run is the preset's
# (`train.py --preset cifar10-resnet18 --run NAME`) with EPOCHS, every epoch's checkpoint kept, no
# diagnostics, a log line every 50 steps; TRAIN_EXTRA and EVAL_EXTRA add options to every
# train.py and eval.py call (a quick check of the script itself: TRAIN_EXTRA="--model
# resnet-small --width 4 --train-subset 256" EVAL_EXTRA="--num-examples 50").
set -uo pipefail
cd "$(dirname "$0")/../.."
DATA=$1 EPOCHS=$2 R=$3 OUT=$4 TRAIN_S=${5:-0} EVAL_S=${6:-0}
PY=${PYTHON:-python3}
read -r -a TRAIN_EXTRA <<< "${TRAIN_EXTRA:-}"
read -r -a EVAL_EXTRA <<< "${EVAL_EXTRA:-}"
mkdir -p "$R" "$OUT"
say() { echo "$(date +%T) $*"; }
# The preset's run $1; five share the accelerator's memory.
train() {
  XLA_PYTHON_CLIENT_MEM_FRACTION=0.15 timeout "$TRAIN_S" "$PY" train.py --preset cifar10-resnet18 \
    --run "$1" --data-dir "$DATA" --epochs "$EPOCHS" --keep-checkpoints 0 --no-diagnostics \
    --log-every 50 --workdir "$R/$1" --resume --no-progress "${TRAIN_EXTRA[@]}" > "$R/$1.log" 2>&1
  say "$1: exit $?, $(grep -c '"kind": "epoch"' "$R/$1/metrics.jsonl" 2>/dev/null) epochs"
}
say "training $EPOCHS epochs"
for name in baseline gan-test-classifier score-matching anti-score-matching gradient-norm; do
  train "$name" &
done
wait
RUNS=()
for name in baseline score-matching anti-score-matching gradient-norm; do
  RUNS+=(--run "$name=$R/$name")
done
# One evaluation into $OUT/$1 (named "main" when that is $OUT itself), eval.py's options "$@".
evaluate() {
  local out=$1 name=${1//./main}; shift
  XLA_PYTHON_CLIENT_MEM_FRACTION=0.25 timeout "$EVAL_S" "$PY" eval.py --no-progress \
    --no-dataset-figures --batch-size 250 "${RUNS[@]}" --out "$OUT/$out" \
    --cache-dir "$R/cache-$name" "$@" "${EVAL_EXTRA[@]}" > "$R/eval-$name.log" 2>&1
  say "evaluation $name: exit $?"
}
say "evaluating"
evaluate . --measurements accuracy,accuracy-epochs,density &
evaluate perturbation-2000 --num-examples 2000 --measurements perturbation,score-matching-objective &
evaluate gan-test --gan-test-model "$R/gan-test-classifier" --measurements samples,gan-test \
  --set samples.samples_per_class=100 &
wait
say "done"
