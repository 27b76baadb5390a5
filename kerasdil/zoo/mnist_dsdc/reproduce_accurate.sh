#!/usr/bin/env bash
# Train the wider DSDC classifier (32,682 parameters, a 14x14 stage): the robust recipe, then two short stages, one seed.
# Usage: bash kerasdil/zoo/mnist_dsdc/reproduce_accurate.sh path/to/mnist.npz [SEED]
set -euo pipefail
cd "$(dirname "$0")/../../.."
DATA=${1:?usage: bash $0 path/to/mnist.npz [SEED]}
SEED=${2:-0}
WIDE='{"dilation_schedule": [[1, 2], [1, 2, 3]], "stage_filters": [48, 96]}'
MOTION='{"max_rotation_degrees": 15, "max_translation_pixels": 2, "max_zoom": 0.15, "max_shear": 0.2, "elastic_alpha": 17, "stroke_probability": 0.1, "blur_probability": 0.2, "motion_directions": 8, "max_motion_length": 11, "contrast_probability": 0.15, "brightness_probability": 0.1, "fog_probability": 0.1, "line_probability": 0.05, "max_lines": 2, "noise_probability": 0.25, "impulse_probability": 0.05}'
MILD='{"max_rotation_degrees": 15, "max_translation_pixels": 2, "max_zoom": 0.15, "max_shear": 0.2, "elastic_alpha": 17, "stroke_probability": 0.1, "blur_probability": 0.1, "contrast_probability": 0.15, "brightness_probability": 0.1, "fog_probability": 0.1, "line_probability": 0.05, "max_lines": 2, "noise_probability": 0.25, "impulse_probability": 0.05}'

# 1. The record's recipe (60 epochs, AdamW 3e-3 cosine, batch 128, ROBUST_AUGMENTATION) on the wider network.
kerasdil train mnist_dsdc --data "$DATA" --out "runs/accurate_s$SEED" --seed "$SEED" --model-kwargs "$WIDE" --quiet
# 2. 20 more epochs at lr 1e-3 with the milder augmentation, as for mnist_dsdc:mnist (reproduce.sh).
kerasdil train mnist_dsdc --data "$DATA" --out "runs/accurate_mild_s$SEED" --epochs 20 --lr 1e-3 --seed "$SEED" \
  --augmentation "$MILD" --model-kwargs "{\"weights\": \"runs/accurate_s$SEED/model.keras\", ${WIDE:1}" --quiet
# 3. 5 epochs at lr 3e-4 with MILD's settings, blur on 20% of the images and motion blur up to 11 px in 8 directions.
kerasdil train mnist_dsdc --data "$DATA" --out "runs/accurate_motion_s$SEED" --epochs 5 --lr 3e-4 --seed "$SEED" \
  --augmentation "$MOTION" --model-kwargs "{\"weights\": \"runs/accurate_mild_s$SEED/model.keras\", ${WIDE:1}" --quiet
# 4. Clean accuracy and the 95 corrupted sets; seed 0 is the one that ships as mnist_dsdc:mnist_accurate.
kerasdil evaluate "runs/accurate_motion_s$SEED/model.keras" --data "$DATA" --corruptions all --out "runs/eval-accurate_s$SEED"
if [ "$SEED" = 0 ]; then
  python tools/publish_weights.py runs/accurate_motion_s0 --tag mnist_accurate \
    --recipe "bash kerasdil/zoo/mnist_dsdc/reproduce_accurate.sh $DATA 0 (stages 1-3, seed 0)"
fi
