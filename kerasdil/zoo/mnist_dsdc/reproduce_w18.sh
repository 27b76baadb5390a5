#!/usr/bin/env bash
# Reproduce the shipped mnist_dsdc:mnist_w18 weights (width 18, six DSDC blocks, clean-MNIST recipe).
# Usage: bash kerasdil/zoo/mnist_dsdc/reproduce_w18.sh path/to/mnist.npz
set -euo pipefail
cd "$(dirname "$0")/../../.."
DATA=${1:?usage: bash $0 path/to/mnist.npz}

W18='{"width":18,"stem":"pool","stage_filters":null,"dilation_schedule":[[1,2,5],[1,2,3]]}'
# 1. Train (50 epochs, AdamW 3e-3 cosine, batch 128, the affine augmentation); resumable.
kerasdil train mnist_dsdc --data "$DATA" --out runs/mnist_dsdc_w18 --epochs 50 --augmentation '{}' \
  --model-kwargs "$W18" --quiet
# 2. Ship the weights inside the package (kerasdil/zoo/mnist_dsdc/weights/mnist_dsdc-mnist_w18.{npz,json}).
python tools/publish_weights.py runs/mnist_dsdc_w18 --tag mnist_w18 \
  --recipe "kerasdil train mnist_dsdc --data $DATA --out runs/mnist_dsdc_w18 --epochs 50 --augmentation '{}' --model-kwargs '$W18'"
# 3. Score the shipped weights on the 10,000 test images.
kerasdil evaluate mnist_dsdc:mnist_w18 --data "$DATA" --out runs/eval-mnist_dsdc_w18
# 4. Side by side with the peer (params, MACs, s/epoch, accuracy, inference speed).
python tools/bench_mnist.py --data "$DATA" --epochs 3 --out runs/bench_mnist
