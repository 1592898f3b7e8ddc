#!/bin/bash
# Does Hutchinson-trained score-matching on mnist5k keep sharpening with longer training, and
# does a larger mu stop it? (REPRODUCTION, "Beyond the paper: does the trace estimator matter")
# Run from anywhere in the repository: bash results/mnist5k-hutchinson-long/study.sh
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
R=${GRADJAX_RUNS:-~/.cache/gradjax/runs}/mnist5k-hutch
mkdir -p "$R"
T() { name=$1; shift; [ -f $R/$name/done ] && return; .venv/bin/python train.py --dataset mnist5k --workdir $R/$name --no-progress "$@" > $R/$name.log 2>&1; touch $R/$name/done; echo "$(date +%T) trained $name"; }
T classifier --model mlp --objective baseline --epochs 4 --seed 1
T hut-4ep --objective score-matching --estimator hutchinson --epochs 4 --seed 0
T hut-4ep-seed1 --objective score-matching --estimator hutchinson --epochs 4 --seed 1
T hut-mu1e-3 --objective score-matching --estimator hutchinson --mu 1e-3 --epochs 4 --seed 0
T hut-mu1e-3-seed1 --objective score-matching --estimator hutchinson --mu 1e-3 --epochs 4 --seed 1
T baseline-12ep --objective baseline --epochs 12 --seed 0
T hut-12ep --objective score-matching --estimator hutchinson --epochs 12 --seed 0 --keep-checkpoints 0
T hut-12ep-seed1 --objective score-matching --estimator hutchinson --epochs 12 --seed 1 --keep-checkpoints 0
T taylor-12ep --objective score-matching --estimator taylor --epochs 12 --seed 0 --keep-checkpoints 0
echo "$(date +%T) evaluating"
.venv/bin/python eval.py --no-progress --out results/mnist5k-hutchinson-long --cache-dir $R/cache \
  --run hut-4ep=$R/hut-4ep --run hut-4ep-seed1=$R/hut-4ep-seed1 \
  --run hut-mu1e-3=$R/hut-mu1e-3 --run hut-mu1e-3-seed1=$R/hut-mu1e-3-seed1 \
  --run hut-12ep-at4=$R/hut-12ep --epoch hut-12ep-at4=4 --run hut-12ep-at8=$R/hut-12ep --epoch hut-12ep-at8=8 --run hut-12ep=$R/hut-12ep \
  --run hut-12ep-seed1-at4=$R/hut-12ep-seed1 --epoch hut-12ep-seed1-at4=4 --run hut-12ep-seed1-at8=$R/hut-12ep-seed1 --epoch hut-12ep-seed1-at8=8 --run hut-12ep-seed1=$R/hut-12ep-seed1 \
  --run taylor-12ep=$R/taylor-12ep --run baseline-12ep=$R/baseline-12ep \
  --gan-test-model $R/classifier --measurements accuracy,density,samples,gan-test,score-matching-objective \
  --set samples.samples_per_class=50 --set score-matching-objective.compare_to=hut-4ep > $R/eval.log 2>&1
echo "$(date +%T) done"
