"""Studies behind the minirocket card: rounding against aeon, feature options, the int8 head.

Three subcommands, each on one of the sets ``bench_timeseries.py`` loads (the same
arrays, unequal-length sets resampled the same way):

- ``rounding SET``: kerasdil's minirocket and aeon's ``MiniRocketClassifier`` for
  ``--seeds`` seeds on the series as loaded and on the series rounded to a grid of
  ``2**(e - 17)`` (``2**e`` the largest training magnitude), where every response of the
  integer-weighted kernels is exact in float32; and how many of kerasdil's features
  differ from aeon's transform given kerasdil's own biases.
- ``options SET``: test accuracy of ``MiniRocketFeatures`` options (``--configs``,
  names from ``CONFIGS``) for ``--seeds`` seeds, ridge head.
- ``int8 SET``: the ``minirocket_clip`` form (``steepness=4000``): float accuracy, and
  that of the float features with the head's weights rounded as int8 TFLite rounds them
  (one scale per class), for ``fit_minirocket(std_floor=...)`` of 0 and 0.1; then the float
  model (``std_floor=0.1``) on test series rounded to an 8-, 10- and 12-bit input grid over the
  training range, as full-integer TFLite quantizes its input before any kernel runs; and
  TFLite's 16x8 mode (int16 activations) of the same model: accuracy and batch-1 time.

    python tools/study_minirocket.py rounding PickupGestureWiimoteZ
    python tools/study_minirocket.py options GunPoint --configs ppv,diff_5k --seeds 1
"""

import argparse
import importlib.util
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _load_bench():
    """tools/bench_timeseries.py as a module (its set list and loader), without touching sys.path."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_timeseries.py")
    spec = importlib.util.spec_from_file_location("bench_timeseries", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_bench()

CONFIGS = {
    "ppv": {},
    "ppv_mpv": dict(pooling=("ppv", "mpv")),
    "ppv_diff": dict(difference=True),
    "ppv_mpv_diff": dict(pooling=("ppv", "mpv"), difference=True),
    "diff_5k": dict(difference=True, num_features=5000),
    "mpv_diff_5k": dict(pooling=("ppv", "mpv"), difference=True, num_features=5000),
}


def _fit(data, x, x_test, seed, fit_options=None, **options):
    """A fitted kerasdil minirocket and its test accuracy."""
    from kerasdil.zoo import minirocket
    from kerasdil.zoo.minirocket.model import fit_minirocket

    model = minirocket(input_shape=x.shape[1:], num_classes=len(data["classes"]), seed=seed, **options)
    fit_minirocket(model, x, data["y"], **(fit_options or {}))
    return model, float(np.mean(model.predict(x_test, verbose=0).argmax(-1) == data["y_test"]))


def _aeon_order(layer):
    """aeon's MiniRocket parameters from a univariate layer's biases, and the column order mapping ours to aeon's."""
    biases, columns, offset, where = {}, [], 0, {}
    for _, dilation, _, index, _, bias in layer.groups:
        count = bias.shape[1]
        for j, k in enumerate(index):
            biases[(dilation, k)] = np.asarray(bias)[j]
            where[(dilation, k)] = np.arange(offset + j * count, offset + (j + 1) * count)
        offset += len(index) * count
    keys = [(d, k) for d in layer.dilations for k in range(84)]
    parameters = (np.ones(len(keys), np.int32), np.zeros(len(keys), np.int32), np.array(layer.dilations, np.int32),
                  np.array(layer.features_per_dilation, np.int32),
                  np.concatenate([biases[key] for key in keys]).astype(np.float32))
    return parameters, np.concatenate([where[key] for key in keys])


def rounding(data, seeds):
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.transformations.collection.convolution_based import MiniRocket
    from aeon.transformations.collection.convolution_based._minirocket import _static_transform_uni

    from kerasdil.zoo.minirocket.model import minirocket_features

    step = 2.0 ** (np.floor(np.log2(np.abs(data["x"]).max())) - 17)
    grid = lambda a: (np.round(a / step) * step).astype(np.float32)  # noqa: E731
    for name, (x, x_test) in {"as loaded": (data["x"], data["x_test"]),
                              "on the grid": (grid(data["x"]), grid(data["x_test"]))}.items():
        ours, theirs = [], []
        for seed in range(seeds):
            model, accuracy = _fit(data, x, x_test, seed)
            ours.append(accuracy)
            clf = MiniRocketClassifier(random_state=seed).fit(x.transpose(0, 2, 1), data["y"])
            theirs.append(float(np.mean(clf.predict(x_test.transpose(0, 2, 1)) == data["y_test"])))
        print(f"{name}: kerasdil {np.mean(ours):.4f} {np.round(ours, 4).tolist()}, "
              f"aeon {np.mean(theirs):.4f} {np.round(theirs, 4).tolist()}")
        layer = model.get_layer("features")
        if x.shape[2] == 1 and name == "as loaded":
            parameters, order = _aeon_order(layer)
            reference = _static_transform_uni(x_test[:, :, 0], parameters, MiniRocket._indices)
            gap = np.abs(minirocket_features(model, x_test)[:, order] - reference)
            print(f"  seed {seeds - 1}, aeon's transform with kerasdil's biases: {int((gap.max(0) > 0.02).sum())} "
                  f"of {gap.shape[1]} features differ by more than 0.02 (largest {gap.max():.3f}); "
                  f"{np.mean(np.diff(x_test, axis=1) == 0):.1%} of consecutive test values are equal")


def options(data, configs, seeds):
    for config in configs:
        accuracies = [_fit(data, data["x"], data["x_test"], seed, **CONFIGS[config])[1] for seed in range(seeds)]
        print(f"{config}: {np.mean(accuracies):.4f} {np.round(accuracies, 4).tolist()}")


def int8_head(data, seed):
    from kerasdil.zoo.minirocket.model import minirocket_features

    for floor in (0.0, 0.1):
        model, accuracy = _fit(data, data["x"], data["x_test"], seed, dict(std_floor=floor), steepness=4000.0)
        kernel, bias = model.get_layer("head").get_weights()
        scale = np.abs(kernel).max(0) / 127  # int8 TFLite: one symmetric scale per output channel
        rounded = np.round(kernel / scale) * scale
        scores = minirocket_features(model, data["x_test"]) @ rounded + bias
        print(f"std_floor {floor}: float {accuracy:.4f}, int8-rounded head {np.mean(scores.argmax(-1) == data['y_test']):.4f}"
              f" ({np.mean(rounded != 0):.0%} of head weights non-zero)")
    # The float model on test series rounded to the grid of an int8 input over the training range
    # (as full-integer TFLite's first QUANTIZE does), and to finer grids.
    low, high = min(float(data["x"].min()), 0.0), max(float(data["x"].max()), 0.0)
    for bits in (8, 10, 12):
        step = (high - low) / (2**bits - 1)
        grid = np.round((np.clip(data["x_test"], low, high) - low) / step) * step + low
        scores = model.predict(grid.astype(np.float32), verbose=0)
        print(f"std_floor {floor}: float model, test series on a {bits}-bit input grid: "
              f"{np.mean(scores.argmax(-1) == data['y_test']):.4f}")
    int16_activations(model, data)


def int16_activations(model, data):
    """TFLite's 16x8 mode (int8 weights, int16 activations) of the fitted model: test accuracy and batch-1 time."""
    import tempfile

    import tensorflow as tf

    from kerasdil.export import tflite
    from kerasdil.export.timing import median_seconds

    converter = tf.lite.TFLiteConverter.from_concrete_functions([bench.serving_function(model)])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    samples = data["x"][:256]
    converter.representative_dataset = lambda: ([samples[i: i + 1]] for i in range(len(samples)))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "int16x8.tflite")
        with open(path, "wb") as f:
            f.write(converter.convert())
        runner = tflite.LiteRTRunner(path, num_threads=1)
        accuracy = np.mean(runner.predict(data["x_test"], batch_size=64).argmax(-1) == data["y_test"])
        ms = median_seconds(runner.batch_fn(data["x_test"][:1])[0], repeats=20, max_seconds=3.0)[0] * 1e3
    print(f"16x8 TFLite (int16 activations): test accuracy {accuracy:.4f}, batch 1 {ms:.1f} ms (one thread)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("study", choices=("rounding", "options", "int8"))
    p.add_argument("set", choices=bench.SETS)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--configs", default=",".join(CONFIGS), help="for `options`: names from " + ", ".join(CONFIGS))
    args = p.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    if args.seeds < 1 or not configs or not set(configs) <= set(CONFIGS):
        p.error(f"--seeds must be at least 1 and --configs names from {', '.join(CONFIGS)}.")
    data = bench.load_set(args.set)
    if args.study == "rounding":
        rounding(data, args.seeds)
    elif args.study == "options":
        options(data, configs, args.seeds)
    else:
        int8_head(data, 0)


if __name__ == "__main__":
    main()
