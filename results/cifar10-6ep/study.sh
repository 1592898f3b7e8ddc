#!/bin/bash
# The four objectives on CIFAR-10, each short enough to train within a session: the cifar10
# preset's config (all 50,000 images, resnet-small w16, batch 128, lr 0.1 with one epoch of
# warm-up, cosine, score-matching at the preset's μ = 1e-3) at 6 epochs instead of 40, all at
# seed 0, the baseline at seed 1 (docs/cifar10-log.md, tenth and eleventh
# sessions) and the other three at seed 1 too (fourteenth), evaluated against the baseline's
# seed 1 as well (fifteenth: a second draw of each difference). The runs' home was emptied
# between sessions three times in a row and a 40-epoch regularised run needs longer than a
# session. Runs already trained (a `done` file) are skipped;
# the evaluation after each new run takes from the cache what it keeps per run (accuracy after
# each epoch, pixel perturbation) and computes again what is one piece over all runs (density
# ratios, the held-out objective): 19 min in all with score-matching added to three runs.
# Run from anywhere in the repository: bash results/cifar10-6ep/study.sh [path/to/cifar10-jpeg.tar]
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
DATA=${1:-../shared/data/cifar10-jpeg.tar}
R=${GRADJAX_RUNS:-~/.cache/gradjax/runs}/cifar10-short
OUT=results/cifar10-6ep
mkdir -p "$R"
RUNS=()
# Trains a run unless it has its `done` file; the preset's config at 6 epochs, then "$@" (a
# later option wins).
train() {
  name=$1; shift
  [ -f "$R/$name/done" ] && return
  nice -n 10 .venv/bin/python train.py --dataset folder --data-dir "$DATA" --augment \
    --model resnet-small --width 16 --batch-size 128 --lr 0.1 --warmup-epochs 1 --epochs 6 \
    --log-every 20 --keep-checkpoints 0 --workdir "$R/$name" --resume --no-progress "$@" \
    > "$R/$name.log" 2>&1
  touch "$R/$name/done"; echo "$(date +%T) trained $name"
}
# A run to evaluate: trained, and added to the evaluated set.
T() {
  RUNS+=(--run "$1=$R/$1")
  train "$@"
}
# The marker of an evaluation step ($1) of the current set of runs: made once per set (the
# results are committed), so resuming goes straight to the next unfinished step.
marker() { echo "$R/$1-$(echo "${RUNS[*]}" | md5sum | cut -c1-12)"; }
# One evaluation step ($1) of every run so far, unless its marker is there; the rest: eval.py's
# options.
evaluate() {
  local done_file
  done_file=$(marker "$1"); shift
  [ -f "$done_file" ] && return
  echo "$(date +%T) eval.py $* for ${RUNS[*]}"
  .venv/bin/python eval.py --no-progress --no-dataset-figures --batch-size 250 "${RUNS[@]}" "$@" \
    >> "$R/eval.log" 2>&1
  touch "$done_file"
}
E() {
  # All 10,000 test images: accuracy (final and after every epoch) and density ratios.
  evaluate evaluated --out $OUT --cache-dir "$R/cache" \
    --measurements accuracy,accuracy-epochs,density
  # 2,000 test images drawn by the seed: pixel perturbation (six methods, own and fixed model)
  # and, on the first 500 of them, the held-out score-matching objective (0.13 s an image and
  # model for perturbation).
  evaluate perturbed --out $OUT/perturbation-2000 --cache-dir "$R/cache-2000" \
    --num-examples 2000 --measurements perturbation,score-matching-objective
}
T baseline --objective baseline --seed 0
T gradient-norm --objective gradient-norm --seed 0
# The baseline's second seed: the seed-to-seed yardstick every difference is read against.
T baseline-seed1 --objective baseline --seed 1
T score-matching --objective score-matching --mu 1e-3 --seed 0
E
T anti-score-matching --objective anti-score-matching --seed 0
E
# Fooling (the reference, i.e. the baseline, fine-tuned so that its saliency fills a corner;
# the first 500 of the 2,000 images; thirteenth session).
evaluate fooled --out $OUT/fooling --cache-dir "$R/cache-2000" --num-examples 2000 \
  --measurements fooling
# At weight 10 the fine-tune takes the baseline from 78% to 26% accuracy; at weight 1 it keeps
# more, to see whether loss-gradients resist a fooling that leaves the classifier working.
evaluate fooled-weight-1 --out $OUT/fooling-weight-1 --cache-dir "$R/cache-2000" \
  --num-examples 2000 --measurements fooling --set fooling.weight=1
# GAN-test: 100 samples per class from noise (and denoised test images) of every run, classified
# by the classifier run $1, into $2.
gan_test() {
  evaluate "gan-tested${1#gan-test-classifier}" --gan-test-model "$R/$1" --out "$2" \
    --cache-dir "$R/cache-gan" --measurements samples,gan-test --set samples.samples_per_class=100
}
# The preset's independent classifier (VGG-11 w16, seed 1) at the models' 6 epochs, far below
# the issue's 85% (twelfth session) ...
train gan-test-classifier --objective baseline --model vgg11 --seed 1
gan_test gan-test-classifier $OUT/gan-test
# ... and at the preset's 40 epochs, which reached 85.04% in the ninth session (thirteenth
# session; ≈ 3.2 h here, so it may take two sessions; diagnostics off, as in the preset).
train gan-test-classifier-40ep --objective baseline --model vgg11 --seed 1 --epochs 40 \
  --no-diagnostics --keep-checkpoints 1
gan_test gan-test-classifier-40ep $OUT/gan-test-40ep-classifier
# Second seeds of the regularised objectives (fourteenth session): two draws of each
# objective's difference to the baseline, not one.
T score-matching-seed1 --objective score-matching --mu 1e-3 --seed 1
T gradient-norm-seed1 --objective gradient-norm --seed 1
T anti-score-matching-seed1 --objective anti-score-matching --seed 1
FIRST=$OUT
# Every draw of every claim side by side: a draw is its three evaluations read together.
draw() {
  local parts=(metrics.json perturbation-2000/metrics.json gan-test-40ep-classifier/metrics.json)
  echo "$1=$(printf "$2/%s," "${parts[@]}" | sed 's/,$//')"
}
# "$@": the labelled draws after the first; the table into draws.md, the differences drawn
# into draws.png.
draws() {
  .venv/bin/python -m gradjax.evaluation.draws "$(draw "seed 0" $FIRST)" "$@" \
    --figure $FIRST/draws.png > $FIRST/draws.md
}
# One draw (seed $1) against that seed's baseline, paired on the same images: the baseline at
# that seed first (the reference, also protocol (b)'s fixed model), then the runs "$@", where
# the first other baseline is the reference's seed partner (one draw of the chance difference).
# Per-run pieces come from the caches; what compares runs is computed again.
evaluate_draw() {
  local seed=$1; shift
  RUNS=()
  for name in baseline-seed$seed "$@"; do
    RUNS+=(--run "$name=$R/$name")
  done
  OUT=$FIRST/seed$seed
  E
  gan_test gan-test-classifier-40ep $OUT/gan-test-40ep-classifier
}
# The second draw of every difference (fifteenth session), first, as it is what the seeds are
# for (sixteenth session).
evaluate_draw 1 score-matching-seed1 gradient-norm-seed1 anti-score-matching-seed1 baseline
draws "$(draw "seed 1" $FIRST/seed1)"
# A third baseline seed and a third draw (seventeenth session): the baseline at seed 2 gives two
# more baseline pairs (against seeds 0 and 1: the yardstick seen three times, not once), and the
# draws that disagreed get a third vote, anti-score-matching's first as it is the cheapest. The
# seed-0 baseline is the seed partner, as in the second draw; the seed-1 baseline is evaluated
# with them for the third pair, the one it makes with seed 2.
train baseline-seed2 --objective baseline --seed 2
train anti-score-matching-seed2 --objective anti-score-matching --seed 2
evaluate_draw 2 anti-score-matching-seed2 baseline baseline-seed1
draws "$(draw "seed 1" $FIRST/seed1)" "$(draw "seed 2" $FIRST/seed2)"
# Then the rest of the third draw (≈ 1.3 h and 1 h to train; the evaluation again with them,
# its per-run pieces from the caches): its table replaces the partial one above.
train score-matching-seed2 --objective score-matching --mu 1e-3 --seed 2
train gradient-norm-seed2 --objective gradient-norm --seed 2
evaluate_draw 2 score-matching-seed2 gradient-norm-seed2 anti-score-matching-seed2 baseline \
  baseline-seed1
draws "$(draw "seed 1" $FIRST/seed1)" "$(draw "seed 2" $FIRST/seed2)"
echo "$(date +%T) done"
