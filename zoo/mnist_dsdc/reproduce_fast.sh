#!/usr/bin/env bash
# Reproduce the shipped mnist_dsdc:mnist_fast weights and their rows in this folder's README.
# Usage: bash zoo/mnist_dsdc/reproduce_fast.sh [path/to/mnist.npz]   (default ../shared/data/mnist.npz)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-../shared/data/mnist.npz}
FAST='{"width":16,"stem":"strided","stage_filters":[32,64],"dilation_schedule":[[1,3],[1,2,3]]}'

# 1. The mnist_dsdc recipe with 100 epochs and elastic distortion added to the affine
#    augmentation, on the architecture that trains at the peer's step time; resumable.
kerasdil train mnist_dsdc --data "$DATA" --out runs/f1_el17_e100_s0 --epochs 100 \
  --augmentation '{"elastic_alpha": 17}' --model-kwargs "$FAST" --quiet
# 2. Ship the weights inside the package (kerasdil/zoo/weights/mnist_dsdc-mnist_fast.{npz,json}).
python tools/publish_weights.py runs/f1_el17_e100_s0 --tag mnist_fast \
  --recipe "kerasdil train mnist_dsdc --data $DATA --out runs/f1_el17_e100_s0 --epochs 100 --augmentation '{\"elastic_alpha\": 17}' --model-kwargs '$FAST'"
# 3. Score them on the 10,000 test images.
kerasdil evaluate mnist_dsdc:mnist_fast --data "$DATA" --out runs/eval-mnist_dsdc_fast
# 4. Epoch time side by side with the peer, each model on its own recipe's data and optimizer.
python tools/bench_mnist.py --data "$DATA" --epochs 7 --models keras_io_convnet \
  --variant "mnist_dsdc/fast=$FAST" --variant "mnist_dsdc/fast_elastic=$FAST" \
  --augmentation 'mnist_dsdc/fast_elastic={"elastic_alpha":17}' --out runs/bench_opt7
