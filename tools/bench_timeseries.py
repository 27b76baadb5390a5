"""Benchmark time-series classifiers side by side on the eight UCR/UEA sets aeon ships.

Models (``--models``, comma-separated):

- ``minirocket``: kerasdil's zoo entry (MiniRocket features as a Keras layer, ridge
  head solved in closed form), one run per ``--seeds`` seed.
- ``minirocket_trained``: the same features with the Dense head trained by Adam.
- ``minirocket_clip``: the entry's int8 form: ``steepness=4000`` (PPV pooled as a clipped
  ramp, one convolution per kernel and bias with the bias as its own, ops LiteRT's XNNPACK
  delegate runs) and ``fit_minirocket(std_floor=0.1)``, ridge head.
- ``zoo:<entry>``: any classification entry of kerasdil's zoo, per seed. If the entry's
  builder module has ``fit_<entry>(model, x, y)``, that fits it; otherwise it is
  trained exactly as ``kerasdil train <entry> --data aeon:NAME --seed SEED`` trains it:
  ``kerasdil.train.train`` with the record's recipe sized by the data (its
  ``data_recipe``: optimizer steps, early stopping on a validation split, best
  weights restored), on the series as ``kerasdil.data.series.load_series`` prepares
  them, scored on the test split.
- ``aeon_minirocket``: aeon's ``MiniRocketClassifier(random_state=0)``.
- ``inceptiontime``: aeon's ``InceptionTimeClassifier(random_state=0)`` with
  ``--inception-members`` networks of ``--inception-epochs`` epochs each (aeon's
  default of 5 x 1500 epochs does not fit a CPU budget; the table states the budget).
- ``tcn``: keras-tcn's ``TCN`` (``pip install --no-deps keras-tcn``), ``--tcn-filters``
  filters, kernel 3, dilations doubling until the receptive field covers the series,
  then a Dense softmax; trained with Adam for ``--tcn-epochs`` on per-series
  standardised input.

The two unequal-length sets (JapaneseVowels, PickupGestureWiimoteZ) are resampled,
every series and channel by linear interpolation, to the longest training series,
for every model (MiniRocket and the Keras models need one length).

Columns: test accuracy (mean and range over seeds), parameters, training seconds,
and for the Keras models: LiteRT float32 and int8 test accuracy and LiteRT batch-1
latency (one thread), from TFLite files written with ``kerasdil.export.tflite`` (for the
first ``--litert-seeds`` seeds).

    pip install ".[timeseries,export]" && pip install --no-deps keras-tcn
    python tools/bench_timeseries.py --out runs/bench_timeseries
    python tools/bench_timeseries.py --sets GunPoint --seeds 1 --models minirocket,aeon_minirocket

``--latency-only`` fits nothing: it builds the untrained architecture each of
``--models`` (``zoo:<entry>``, ``tcn``; ``--tcn-filters 24,32`` builds one TCN per
width) would train on each set, converts it to float32 and int8 TFLite (int8
calibrated on the set's training series) and times LiteRT batch 1 in alternation, all
models in one process, into ``latency.json`` and ``latency.md``: latency does not
depend on the weights' values, and a shared CPU's load falls on every model alike.

    python tools/bench_timeseries.py --latency-only --models zoo:series_dsdc,tcn --tcn-filters 24,32

Results accumulate in ``bench_timeseries.json`` in ``--out`` (one entry per set,
model and seed, written as each run ends), so an interrupted run resumes where it
stopped and later runs add models; ``bench_timeseries.md`` is the table.
"""

import argparse
import importlib
import inspect
import json
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SETS = ("ACSF1", "ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand", "JapaneseVowels", "OSULeaf",
        "PickupGestureWiimoteZ")
UNEQUAL = ("JapaneseVowels", "PickupGestureWiimoteZ")
SEEDED = ("minirocket", "minirocket_trained", "minirocket_clip")  # plus every zoo:<entry>
PEERS = ("aeon_minirocket", "inceptiontime", "tcn")
DEFAULT_MODELS = "minirocket,minirocket_trained,aeon_minirocket,tcn,inceptiontime"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- data


def resample(series, length):
    """``(channels, steps)`` -> ``(channels, length)`` by linear interpolation."""
    series = np.asarray(series, np.float64)
    if series.shape[1] == length:
        return series
    old = np.linspace(0.0, 1.0, series.shape[1])
    new = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(new, old, channel) for channel in series])


def load_set(name):
    """One aeon set as ``dict(x, y, x_test, y_test, classes, note)``; x ``(N, length, channels)`` float32."""
    from aeon.datasets import load_classification

    x, y = load_classification(name, split="train")
    x_test, y_test = load_classification(name, split="test")
    note = ""
    if not isinstance(x, np.ndarray) or not isinstance(x_test, np.ndarray):
        length = max(s.shape[1] for s in x)
        note = f"resampled to {length} steps (longest training series)"
        x = np.stack([resample(s, length) for s in x])
        x_test = np.stack([resample(s, length) for s in x_test])
    classes = np.unique(np.concatenate([y, y_test]))
    return dict(name=name, x=x.transpose(0, 2, 1).astype(np.float32), y=np.searchsorted(classes, y),
                x_test=x_test.transpose(0, 2, 1).astype(np.float32), y_test=np.searchsorted(classes, y_test),
                classes=classes, note=note)


def standardise(x):
    """Per-series, per-channel zero mean and unit variance (constant series stay zero)."""
    std = x.std(axis=1, keepdims=True)
    return ((x - x.mean(axis=1, keepdims=True)) / np.where(std < 1e-8, 1.0, std)).astype(np.float32)


# ---------------------------------------------------------------- models


def _accuracy(scores, labels):
    return float(np.mean(np.asarray(scores).argmax(-1) == labels))


def run_zoo(entry, data, seed, args, fit_options=None, build_options=None):
    """A kerasdil zoo entry fitted and scored; returns (result, model, (x, x_test, y_test) as the model takes them)."""
    import keras

    from kerasdil.zoo import create_model, model_info

    builder = model_info(entry).builder
    fit = getattr(importlib.import_module(builder.__module__), f"fit_{entry}", None)
    if fit is None:
        return _train_like_the_cli(entry, data, seed)
    keras.utils.set_random_seed(seed)
    kwargs = dict(input_shape=data["x"].shape[1:], num_classes=len(data["classes"]), **(build_options or {}))
    if "seed" in inspect.signature(builder).parameters:
        kwargs["seed"] = seed
    model = create_model(entry, **kwargs)
    start = time.perf_counter()
    info = fit(model, data["x"], data["y"], **(fit_options or {}))
    seconds = time.perf_counter() - start
    accuracy = _accuracy(model.predict(data["x_test"], batch_size=16, verbose=0), data["y_test"])
    result = dict(accuracy=accuracy, params=int(model.count_params()), train_seconds=seconds,
                  fit={k: v for k, v in (info or {}).items() if isinstance(v, (int, float, str))})
    return result, model, (data["x"], data["x_test"], data["y_test"])


def _train_like_the_cli(entry, data, seed):
    """``kerasdil.train.train(entry, data="aeon:NAME", seed=seed)`` (the record's recipe), scored on the test split."""
    from kerasdil.data.series import load_series
    from kerasdil.train import train

    source = f"aeon:{data['name']}"
    with tempfile.TemporaryDirectory(prefix="bench_timeseries_") as folder:
        start = time.perf_counter()
        run = train(entry, data=source, out_dir=os.path.join(folder, "run"), seed=seed, verbose=0,
                    log=lambda message: None)
        seconds = time.perf_counter() - start
        with open(os.path.join(run.out_dir, "run.json")) as f:
            settings = json.load(f)
    spec = load_series(source)  # the same preparation train applied (normalisation, one length)
    (x, _), (x_test, y_test) = spec.arrays("train"), spec.arrays("test")
    accuracy = _accuracy(run.model.predict(x_test, batch_size=16, verbose=0), y_test)
    fit = {"recipe": "kerasdil.train.train", "epochs_run": len(run.history)}
    fit.update({k: settings[k] for k in ("batch_size", "learning_rate", "weight_decay", "label_smoothing")
                if isinstance(settings.get(k), (int, float))})
    result = dict(accuracy=accuracy, params=int(run.model.count_params()), train_seconds=seconds, fit=fit,
                  engine_test_accuracy=float(run.metrics.get("accuracy", float("nan"))))
    return result, run.model, (x, x_test, y_test)


def tcn_dilations(length, kernel_size=3):
    """Doubling dilations until a one-stack TCN's receptive field covers ``length``."""
    dilations = [1]
    while 1 + 2 * (kernel_size - 1) * sum(dilations) < length:
        dilations.append(dilations[-1] * 2)
    return dilations


def build_tcn(length, channels, num_classes, filters):
    """keras-tcn's TCN (kernel 3, dilations covering ``length``) and a Dense softmax."""
    import keras
    from tcn import TCN

    inputs = keras.Input((length, channels))
    features = TCN(nb_filters=filters, kernel_size=3, dilations=tcn_dilations(length))(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(features))


def run_tcn(data, seed, args):
    """keras-tcn's TCN and a Dense softmax, trained with Adam for ``--tcn-epochs``."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_tcn(*data["x"].shape[1:], len(data["classes"]), args.tcn_filters[0])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(standardise(data["x"]), data["y"], epochs=args.tcn_epochs, batch_size=16, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = _accuracy(model.predict(standardise(data["x_test"]), batch_size=16, verbose=0), data["y_test"])
    return dict(accuracy=accuracy, params=int(model.count_params()), train_seconds=seconds,
                fit={"epochs": args.tcn_epochs, "filters": args.tcn_filters[0]}), model, (
        standardise(data["x"]), standardise(data["x_test"]), data["y_test"])


def run_aeon(name, data, seed, args):
    """aeon's MiniRocketClassifier or InceptionTimeClassifier on the same (N, channels, length) data."""
    x, x_test = data["x"].transpose(0, 2, 1), data["x_test"].transpose(0, 2, 1)
    folder = tempfile.mkdtemp(prefix="bench_timeseries_")
    try:
        if name == "aeon_minirocket":
            from aeon.classification.convolution_based import MiniRocketClassifier

            clf = MiniRocketClassifier(random_state=seed)
            fit = {}
        else:
            from aeon.classification.deep_learning import InceptionTimeClassifier

            clf = InceptionTimeClassifier(n_classifiers=args.inception_members, n_epochs=args.inception_epochs,
                                          random_state=seed, file_path=folder + os.sep)
            fit = {"members": args.inception_members, "epochs": args.inception_epochs}
        start = time.perf_counter()
        clf.fit(x, data["y"])
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(clf.predict(x_test) == data["y_test"]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return dict(accuracy=accuracy, params=_aeon_params(name, clf), train_seconds=seconds, fit=fit), None, None


def _aeon_params(name, clf):
    """Fitted numbers: MiniRocket's biases and ridge coefficients; every InceptionTime network's weights."""
    if name == "aeon_minirocket":
        ridge = clf.pipeline_[-1]
        return int(clf.pipeline_[0].parameters[-1].size + ridge.coef_.size + ridge.intercept_.size)  # [-1]: biases
    return int(sum(member.training_model_.count_params() for member in clf.classifiers_))


def run_model(model_name, data, seed, args):
    if model_name == "minirocket":
        return run_zoo("minirocket", data, seed, args)
    if model_name == "minirocket_trained":
        return run_zoo("minirocket", data, seed, args, dict(head="trained", epochs=args.epochs))
    if model_name == "minirocket_clip":
        return run_zoo("minirocket", data, seed, args, dict(std_floor=0.1), dict(steepness=4000.0))
    if model_name.startswith("zoo:"):
        return run_zoo(model_name[4:], data, seed, args)
    if model_name == "tcn":
        return run_tcn(data, seed, args)
    return run_aeon(model_name, data, seed, args)


# ---------------------------------------------------------------- LiteRT


def serving_function(model):
    """``model``'s batch-1 serving function (a concrete function returning ``{"output": ...}``), as export writes it."""
    import tensorflow as tf

    spec = tf.TensorSpec((1, *model.inputs[0].shape[1:]), tf.float32)

    @tf.function(input_signature=[spec], autograph=False)
    def serve(x):
        return {"output": model(x, training=False)}

    return serve.get_concrete_function()


def _flatbuffer(model, quantization, representative):
    """A batch-1 float32 or int8 TFLite flatbuffer of ``model`` (``representative`` calibrates int8)."""
    from kerasdil.export import tflite

    return tflite.convert(serving_function(model), quantization, representative=representative[:256])


def litert_columns(model, inputs, threads):
    """Float32 and int8 TFLite files of ``model`` (batch 1): test accuracy, batch-1 latency, op audit.

    ``inputs``: ``(x, x_test, y_test)`` as the model takes them (x calibrates int8).
    """
    from kerasdil.export import audit, tflite
    from kerasdil.export.timing import median_seconds

    x, x_test, y_test = inputs
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for quantization in ("float32", "int8"):
            flatbuffer = _flatbuffer(model, quantization, x)
            ops = audit.tflite_operators(flatbuffer)
            path = os.path.join(folder, f"{quantization}.tflite")
            with open(path, "wb") as f:
                f.write(flatbuffer)
            runner = tflite.LiteRTRunner(path, num_threads=threads)
            out[f"{quantization}_accuracy"] = _accuracy(runner.predict(x_test, batch_size=64), y_test)
            out[f"{quantization}_batch1_ms"] = median_seconds(runner.batch_fn(x_test[:1])[0], repeats=50,
                                                              max_seconds=2.0)[0] * 1e3
            out[f"{quantization}_bytes"] = len(flatbuffer)
            out[f"{quantization}_forbidden_ops"] = sorted({o["op"] for o in ops if o["op"] in audit.TFLITE_FORBIDDEN})
            out[f"{quantization}_dilated_convs"] = sum(1 for o in ops if o["dilation"] and max(o["dilation"]) > 1)
    return out


def latency_models(model_name, data, args):
    """``(label, untrained model)`` of one ``--models`` name for ``--latency-only``: the architecture it trains."""
    length, channels = data["x"].shape[1:]
    if model_name == "tcn":
        return [(f"tcn ({f} filters)", build_tcn(length, channels, len(data["classes"]), f))
                for f in args.tcn_filters]
    from kerasdil.zoo import create_model

    return [(model_name, create_model(model_name[4:], input_shape=(length, channels),
                                      num_classes=len(data["classes"])))]


def latency_run(data, args):
    """Batch-1 LiteRT latency of every model's untrained architecture on one set, measured in alternation.

    Latency does not depend on the weights' values, so untrained models (int8 calibrated on the
    set's training series) stand for trained ones, and every model is timed in the same process,
    ``--latency-rounds`` times in turn, so load on a shared CPU falls on all of them alike.
    """
    from kerasdil.export import tflite
    from kerasdil.export.timing import median_seconds

    models = [pair for name in args.models for pair in latency_models(name, data, args)]
    times = {(label, q): [] for label, _ in models for q in ("int8", "float32")}
    with tempfile.TemporaryDirectory() as folder:
        runners = {}
        for label, model in models:
            for quantization in ("int8", "float32"):
                path = os.path.join(folder, f"{len(runners)}.tflite")
                with open(path, "wb") as f:
                    f.write(_flatbuffer(model, quantization, data["x"]))
                runners[label, quantization] = tflite.LiteRTRunner(path, num_threads=args.threads).batch_fn(
                    data["x_test"][:1])[0]
        for _ in range(args.latency_rounds):
            for key, run in runners.items():
                times[key].append(median_seconds(run, repeats=50, max_seconds=1.0)[0] * 1e3)
    return {label: dict(params=int(model.count_params()), int8_batch1_ms=float(np.median(times[label, "int8"])),
                        float32_batch1_ms=float(np.median(times[label, "float32"]))) for label, model in models}


def format_latency(results, command):
    """The latency table: one row per set and model, with each model's int8 time over each TCN's."""
    tcns = sorted({label for rows in results.values() for label in rows if label.startswith("tcn")})
    lines = [f"Table written by `{command}`: untrained architectures, LiteRT batch 1, "
             "medians of rounds timed in alternation.", "",
             "| set | model | params | int8 b1 ms | f32 b1 ms | " + " | ".join(f"int8 / {t}" for t in tcns) + " |",
             "|---|---|---:|---:|---:|" + "---:|" * len(tcns)]
    for set_name, rows in results.items():
        for label, row in rows.items():
            ratios = " | ".join(f"{row['int8_batch1_ms'] / rows[t]['int8_batch1_ms']:.2f}x" if t in rows else "-"
                                for t in tcns)
            lines.append(f"| {set_name} | {label} | {row['params']:,} | {row['int8_batch1_ms']:.3f} | "
                         f"{row['float32_batch1_ms']:.3f} | {ratios} |")
    return "\n".join(lines) + "\n"


def latency_main(args, command):
    """``--latency-only``: the latency table of every set, written to ``latency.json`` and ``latency.md``."""
    results = {}
    for set_name in args.sets:
        log(f"{set_name}: timing {', '.join(args.models)}")
        results[set_name] = latency_run(load_set(set_name), args)
        with open(os.path.join(args.out, "latency.json"), "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    table = format_latency(results, command)
    with open(os.path.join(args.out, "latency.md"), "w") as f:
        f.write(table)
    print(table)
    return results


# ---------------------------------------------------------------- results


def _save(path, results):
    """Write ``results`` atomically, keeping runs another process wrote to the same file meanwhile."""
    merged = _load(path)
    for key in ("runs", "sets"):
        merged[key].update(results[key])
        results[key].update(merged[key])
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(merged, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _load(path):
    if not os.path.exists(path):
        return {"runs": {}, "sets": {}}
    with open(path) as f:
        return json.load(f)


def _cell(values, digits=4):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def _runs(results, set_name, model_name):
    prefix = f"{set_name}/{model_name}/"
    return [r for key, r in sorted(results["runs"].items()) if key.startswith(prefix)]


def summary_rows(results, models, sets):
    """Per model: mean accuracy over all sets, over the equal-length ones, over the unequal ones."""
    rows = []
    for model_name in models:
        means = {s: np.mean([r["accuracy"] for r in _runs(results, s, model_name)])
                 for s in sets if _runs(results, s, model_name)}
        groups = [[s for s in sets if s in means], [s for s in sets if s in means and s not in UNEQUAL],
                  [s for s in sets if s in means and s in UNEQUAL]]
        cells = [f"{np.mean([means[s] for s in g]):.4f} ({len(g)})" if g else "-" for g in groups]
        rows.append(f"| {model_name} | " + " | ".join(cells) + " |")
    return rows


def format_markdown(results, models, sets, command):
    """The table: one row per set and model, then the means per model."""
    lines = [f"Table written by `{command}` from the runs saved beside it (budgets in the notes below).", "",
             "| set | model | seeds | test accuracy | params | train s | LiteRT f32 acc | LiteRT int8 acc "
             "| int8 b1 ms | f32 b1 ms |", "|---|---|---:|---|---:|---:|---|---|---:|---:|"]
    for set_name in sets:
        for model_name in models:
            runs = _runs(results, set_name, model_name)
            if not runs:
                continue
            get = lambda key: [r.get(key) for r in runs]  # noqa: E731
            lines.append(
                f"| {set_name} | {model_name} | {len(runs)} | {_cell(get('accuracy'))} | {runs[0]['params']:,} | "
                f"{np.mean(get('train_seconds')):.1f} | {_cell(get('float32_accuracy'))} | "
                f"{_cell(get('int8_accuracy'))} | {_cell(get('int8_batch1_ms'), 2)} | "
                f"{_cell(get('float32_batch1_ms'), 2)} |")
    lines += ["", "| model | mean accuracy, all sets (n) | equal-length sets (n) | unequal-length sets (n) |",
              "|---|---|---|---|"] + summary_rows(results, models, sets)
    notes = [f"- {s}: {results['sets'][s]}" for s in sets if results["sets"].get(s)]
    budgets = {m: r["fit"] for m in models for s in sets for r in _runs(results, s, m)[:1] if r.get("fit")}
    notes += [f"- {m}: {', '.join(f'{k}={v}' for k, v in fit.items())} (first run)" for m, fit in budgets.items()]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


# ---------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default=",".join(SETS), help="comma-separated aeon set names")
    p.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated: " + ", ".join(SEEDED + PEERS)
                   + ", zoo:<entry>")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 for kerasdil's models (peers: seed 0)")
    p.add_argument("--epochs", type=int, default=200, help="epochs of minirocket_trained's head")
    p.add_argument("--tcn-epochs", type=int, default=100)
    p.add_argument("--tcn-filters", default="24", help="TCN filters; with --latency-only a comma-separated list "
                   "(one TCN per width)")
    p.add_argument("--inception-epochs", type=int, default=100)
    p.add_argument("--inception-members", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="LiteRT threads for latency")
    p.add_argument("--no-litert", action="store_true", help="skip the TFLite columns")
    p.add_argument("--litert-seeds", type=int, default=1, help="seeds (from 0) that get the TFLite columns")
    p.add_argument("--out", default=os.path.join("runs", "bench_timeseries"), help="output folder")
    p.add_argument("--table-only", action="store_true", help="fit nothing: write the table of the runs saved in --out")
    p.add_argument("--latency-only", action="store_true", help="fit nothing: time the untrained architectures of "
                   "--models (zoo:<entry> and tcn) in alternation, into latency.json / latency.md")
    p.add_argument("--latency-rounds", type=int, default=5, help="with --latency-only: rounds of timing per model")
    args = p.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad_sets = [s for s in args.sets if s not in SETS]
    bad_models = [m for m in args.models if m not in SEEDED + PEERS and not m.startswith("zoo:")]
    if bad_sets or bad_models or not args.sets or not args.models:
        p.error(f"unknown sets {bad_sets} or models {bad_models}: sets are {', '.join(SETS)}; models "
                f"{', '.join(SEEDED + PEERS)} or zoo:<entry>.")
    given = args.tcn_filters
    try:
        args.tcn_filters = [int(f) for f in given.split(",") if f.strip()]
    except ValueError:
        args.tcn_filters = []
    if (not args.tcn_filters or min(args.tcn_filters) < 1 or len(set(args.tcn_filters)) != len(args.tcn_filters)
            or (len(args.tcn_filters) > 1 and not args.latency_only)):
        p.error(f"--tcn-filters must be a positive int (a comma-separated list of distinct ones only with "
                f"--latency-only), got {given!r}.")
    if args.latency_only and args.table_only:
        p.error("--latency-only and --table-only are two different tables: give one.")
    if args.latency_only and any(m != "tcn" and not m.startswith("zoo:") for m in args.models):
        p.error("--latency-only times Keras architectures that need no fit: zoo:<entry> and tcn.")
    if min(args.seeds, args.epochs, args.tcn_epochs, args.inception_epochs, args.inception_members,
           args.latency_rounds) < 1:
        p.error("--seeds, --latency-rounds and every epoch / member count must be at least 1.")
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "bench_timeseries.json")
    results = _load(path)
    command = "python tools/bench_timeseries.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.latency_only:
        return latency_main(args, command)
    for set_name in [] if args.table_only else args.sets:
        data = load_set(set_name)
        results["sets"][set_name] = data["note"]
        for model_name in args.models:
            seeds = range(args.seeds) if model_name in SEEDED or model_name.startswith("zoo:") else [0]
            for seed in seeds:
                key = f"{set_name}/{model_name}/{seed}"
                if key in results["runs"] or key in _load(path)["runs"]:  # also what another process saved
                    continue
                log(f"{key}: fitting ({data['x'].shape[0]} series of {data['x'].shape[1:]})")
                result, model, inputs = run_model(model_name, data, seed, args)
                if model is not None and not args.no_litert and seed < args.litert_seeds:
                    result.update(litert_columns(model, inputs, args.threads))
                log(f"{key}: accuracy {result['accuracy']:.4f}, {result['params']:,} params, "
                    f"{result['train_seconds']:.1f} s" + (f", int8 {result['int8_accuracy']:.4f} "
                                                         f"{result['int8_batch1_ms']:.2f} ms" if "int8_accuracy"
                                                         in result else ""))
                results["runs"][key] = result
                _save(path, results)
    models = sorted({k.split("/")[1] for k in results["runs"]}, key=lambda m: (m not in args.models, m))
    sets = [s for s in SETS if any(k.startswith(s + "/") for k in results["runs"])]
    table = format_markdown(results, models, sets, command)
    tmp = os.path.join(args.out, f"bench_timeseries.md.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(table)
    os.replace(tmp, os.path.join(args.out, "bench_timeseries.md"))
    print(table)
    return results


if __name__ == "__main__":
    main()
