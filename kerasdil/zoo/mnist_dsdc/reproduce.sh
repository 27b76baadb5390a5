#!/usr/bin/env bash
# Reproduce the shipped mnist_dsdc:mnist weights and the robustness and speed numbers of this folder's README.
# Usage: bash kerasdil/zoo/mnist_dsdc/reproduce.sh path/to/mnist.npz
set -euo pipefail
cd "$(dirname "$0")/../../.."
DATA=${1:?usage: bash $0 path/to/mnist.npz}
MILD='{"max_rotation_degrees": 15, "max_translation_pixels": 2, "max_zoom": 0.15, "max_shear": 0.2, "elastic_alpha": 17, "stroke_probability": 0.1, "blur_probability": 0.1, "contrast_probability": 0.15, "brightness_probability": 0.1, "fog_probability": 0.1, "line_probability": 0.05, "max_lines": 2, "noise_probability": 0.25, "impulse_probability": 0.05}'

# 1. The recipe (kerasdil/zoo/mnist_record.py): 60 epochs, AdamW 3e-3 cosine, batch 128, the robust
#    augmentation (affine, shear, elastic; stroke width, blur, contrast, brightness, fog, lines, noise).
kerasdil train mnist_dsdc --data "$DATA" --out runs/mnist_dsdc --seed 0 --quiet
# 2. 20 more epochs from those weights at lr 1e-3 with the same changes applied more mildly and more rarely.
kerasdil train mnist_dsdc --data "$DATA" --out runs/mnist_dsdc_mild --epochs 20 --lr 1e-3 --seed 1 \
  --augmentation "$MILD" --model-kwargs '{"weights": "runs/mnist_dsdc/model.keras"}' --quiet
# 3. Ship the weights inside the package (kerasdil/zoo/mnist_dsdc/weights/mnist_dsdc-mnist.{npz,json}).
python tools/publish_weights.py runs/mnist_dsdc_mild --tag mnist \
  --recipe "bash kerasdil/zoo/mnist_dsdc/reproduce.sh $DATA (steps 1 and 2)"
# 4. Clean test accuracy, then the corruption benchmark against the peer (trained here by its recipe).
kerasdil evaluate mnist_dsdc:mnist --data "$DATA" --out runs/eval-mnist_dsdc
python tools/bench_robustness.py --data "$DATA" --models mnist_dsdc:mnist --out runs/bench_robustness
# 5. Deployment speed against the same peer: LiteRT float32/int8, Keras, training.
python tools/bench_mobile.py --data "$DATA" --models mnist_dsdc:mnist,mnist_dsdc:mnist_w18 \
  --peer-weights runs/bench_robustness/peer/model.keras --rounds 7 --out runs/bench_mobile
