#!/usr/bin/env bash
# Reproduce the shipped mnist_dsdc:mnist weights and the numbers in this folder's README.
# Usage: bash zoo/mnist_dsdc/reproduce.sh [path/to/mnist.npz]   (default ../shared/data/mnist.npz)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-../shared/data/mnist.npz}

# 1. Train the recipe (50 epochs, AdamW 3e-3 cosine, batch 128, augmentation); resumable.
kerasdil train mnist_dsdc --data "$DATA" --out runs/mnist_dsdc --quiet
# 2. Ship the weights inside the package (kerasdil/zoo/weights/mnist_dsdc-mnist.{npz,json}).
python tools/publish_weights.py runs/mnist_dsdc --tag mnist \
  --recipe "kerasdil train mnist_dsdc --data $DATA --out runs/mnist_dsdc"
# 3. Score the shipped weights on the 10,000 test images.
kerasdil evaluate mnist_dsdc:mnist --data "$DATA" --out runs/eval-mnist_dsdc
# 4. Side by side with the peer (params, MACs, s/epoch, accuracy, inference speed).
python tools/bench_mnist.py --data "$DATA" --epochs 3 --out runs/bench_mnist
