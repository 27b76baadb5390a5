#!/usr/bin/env bash
# Reproduce the card's "mnist_fast's architecture without BatchNormalization" rows: the
# mnist_fast recipe on batchnorm=False, five seeds, then its epoch time side by side with the peer.
# Usage: bash kerasdil/zoo/mnist_dsdc/reproduce_nobn.sh path/to/mnist.npz
# Each run is resumable (rerun the script after an interruption).
set -euo pipefail
cd "$(dirname "$0")/../../.."
DATA=${1:?usage: bash $0 path/to/mnist.npz}
FAST='{"width":16,"stem":"strided","stage_filters":[32,64],"dilation_schedule":[[1,3],[1,2,3]]}'
NOBN='{"width":16,"stem":"strided","stage_filters":[32,64],"dilation_schedule":[[1,3],[1,2,3]],"batchnorm":false}'

# 1. Five seeds of the recipe (test accuracy is printed at the end of each and kept in metrics.json).
for seed in 0 1 2 3 4; do
  kerasdil train mnist_dsdc --data "$DATA" --out "runs/f1nobn_el17_e100_s$seed" --epochs 100 \
    --augmentation '{"elastic_alpha": 17}' --model-kwargs "$NOBN" --seed "$seed" --quiet
done
python - <<'PY'
import json, statistics
acc = [json.load(open(f"runs/f1nobn_el17_e100_s{s}/metrics.json"))["accuracy"] for s in range(5)]
print("test accuracy by seed:", acc, "mean", round(statistics.mean(acc), 4))
PY
# 2. Epoch time and inference side by side with the peer, each on its own recipe's data, with
#    mnist_fast's BN architecture for comparison.
python tools/bench_mnist.py --data "$DATA" --epochs 9 --models keras_io_convnet \
  --variant "mnist_dsdc/fast_elastic=$FAST" --variant "mnist_dsdc/nobn=$NOBN" --variant "mnist_dsdc/nobn_elastic=$NOBN" \
  --augmentation 'mnist_dsdc/fast_elastic={"elastic_alpha":17}' --augmentation 'mnist_dsdc/nobn_elastic={"elastic_alpha":17}' \
  --out runs/bench_nobn9
