"""Ship the weights of a finished `kerasdil train` run inside the package.

    python tools/publish_weights.py runs/mnist_dsdc --tag mnist --recipe "<command>"

Reads ``model.keras`` and ``metrics.json`` from the run, writes
``kerasdil/zoo/<entry>/weights/<model>-<tag>.npz`` (plain arrays keyed by variable path)
and ``<model>-<tag>.json`` (sha256, builder config, recipe, metrics), which the
zoo registry reads. The model is rebuilt from the registry with the run's
``model_kwargs`` and the weights are checked to load before anything is written.
"""

import argparse
import json
import os
import sys



#: Builder arguments that decide the architecture; a tag's card records them so that
#: ``create_model("<model>:<tag>")`` rebuilds the network its weights were trained with.
ARCHITECTURE_KEYS = ("input_shape", "num_classes", "dilation_schedule", "width", "stem", "stage_filters", "batchnorm",
                     "output_stride", "aspp_rates", "decoder", "backbone", "aspp_filters", "decoder_filters",
                     "backbone_classes")


def main(argv=None):
    p = argparse.ArgumentParser(description="publish a run's weights into kerasdil/zoo/<entry>/weights")
    p.add_argument("run_dir")
    p.add_argument("--tag", required=True)
    p.add_argument("--recipe", required=True, help="the command(s) that reproduce the run")
    args = p.parse_args(argv)

    import keras
    import numpy as np

    import kerasdil.layers  # noqa: F401
    from kerasdil.zoo import create_model
    from kerasdil.zoo.weights_io import assign_weights, save_weights

    with open(os.path.join(args.run_dir, "run.json")) as f:
        run = json.load(f)
    with open(os.path.join(args.run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    trained = keras.models.load_model(os.path.join(args.run_dir, "model.keras"), compile=False, safe_mode=True)
    model = create_model(run["model"], **run["model_kwargs"])
    assign_weights(model, {v.path: np.asarray(v.numpy()) for v in trained.weights}, source=args.run_dir)
    from kerasdil.zoo import model_info

    info = model_info(run["model"])
    config = {k: v for k, v in {**info.default_config, **run["model_kwargs"]}.items()
              if k in ARCHITECTURE_KEYS}
    config = json.loads(json.dumps(config, default=list))
    from kerasdil.zoo import weights_dir

    folder = weights_dir(run["model"])  # kerasdil/zoo/<entry>/weights
    os.makedirs(folder, exist_ok=True)
    base = f"{run['model']}-{args.tag}"
    sha = save_weights(model, os.path.join(folder, base + ".npz"), config=config)
    card = {
        "file": base + ".npz",
        "sha256": sha,
        "config": config,
        "recipe": args.recipe,
        "metrics": {k: metrics[k] for k in ("accuracy", "loss", "miou", "pixel_accuracy", "samples", "epochs", "params",
                                             "macs", "seconds_per_epoch_median", "train_seconds_total", "data") if k in metrics},
    }
    if "distill" in run:
        card["distill"] = run["distill"]  # teacher, alpha, temperature
    tmp = os.path.join(folder, base + ".json.tmp")
    with open(tmp, "w") as f:
        json.dump(card, f, indent=2)
    os.replace(tmp, os.path.join(folder, base + ".json"))
    print(f"wrote {base}.npz (sha256 {sha}) and {base}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
