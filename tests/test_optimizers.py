import collections

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasdil.optimizers as kopt

SHAPES = [(3, 3, 4, 1), (4, 8), (8,)]


def _grads(steps=20, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype("float32") for s in SHAPES] for _ in range(steps)]


def _schedule():
    return keras.optimizers.schedules.CosineDecay(1e-3, 50, warmup_target=1e-2, warmup_steps=5)


def _variables():
    rng = np.random.default_rng(7)
    return [keras.Variable(rng.uniform(-1, 1, s).astype("float32"), name=n)
            for s, n in zip(SHAPES, ("kernel", "dense_kernel", "bias"))]


def _run(optimizer, grads):
    """Apply ``grads`` step by step inside a tf.function, as ``fit`` does; the final values."""
    variables = _variables()
    step = tf.function(lambda g: optimizer.apply(g, variables), autograph=False)
    for g in grads:
        step([tf.constant(x) for x in g])
    return [v.numpy() for v in variables], step, variables


def _max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def _op_counts(step, grads):
    graph = step.get_concrete_function([tf.constant(x) for x in grads[0]]).graph
    return collections.Counter(op.type for op in graph.get_operations())


@pytest.mark.parametrize("ours, theirs, kwargs", [
    (kopt.Adam, keras.optimizers.Adam, {}),
    (kopt.Adam, keras.optimizers.Adam, {"weight_decay": 0.05}),
    (kopt.AdamW, keras.optimizers.AdamW, {"weight_decay": 0.05}),
    (kopt.AdamW, keras.optimizers.AdamW, {"weight_decay": 0.05, "beta_1": 0.8, "epsilon": 1e-4}),
])
def test_fused_update_equals_keras_over_twenty_steps(ours, theirs, kwargs):
    grads = _grads()
    expected, _, _ = _run(theirs(_schedule(), **kwargs), grads)
    got, step, variables = _run(ours(_schedule(), **kwargs), grads)
    assert _max_diff(got, expected) < 2e-6
    # The update moved the variables by far more than the tolerance, and the
    # fused kernels ran: one Adam kernel per variable, decay one per variable.
    assert _max_diff(got, [v.numpy() for v in _variables()]) > 0.05
    ops = _op_counts(step, grads)
    assert ops["ResourceApplyAdam"] == len(SHAPES)
    assert ops["ResourceApplyGradientDescent"] == (len(SHAPES) if kwargs.get("weight_decay") else 0)


def test_weight_decay_is_applied_and_respects_exclusions():
    grads = _grads()
    plain, _, _ = _run(kopt.Adam(_schedule()), grads)
    decayed, _, _ = _run(kopt.AdamW(_schedule(), weight_decay=0.5), grads)
    assert _max_diff(plain, decayed) > 1e-3

    def excluded():
        opt = kopt.AdamW(_schedule(), weight_decay=0.5)
        opt.exclude_from_weight_decay(var_names=["bias"])
        return opt

    def keras_excluded():
        opt = keras.optimizers.AdamW(_schedule(), weight_decay=0.5)
        opt.exclude_from_weight_decay(var_names=["bias"])
        return opt

    got, step, _ = _run(excluded(), grads)
    expected, _, _ = _run(keras_excluded(), grads)
    assert _max_diff(got, expected) < 2e-6
    assert np.allclose(got[2], plain[2], atol=2e-6)  # the bias was not decayed
    assert _op_counts(step, grads)["ResourceApplyGradientDescent"] == len(SHAPES) - 1


def test_constant_learning_rate_and_float64_variables():
    grads = _grads(steps=5)
    expected, _, _ = _run(keras.optimizers.AdamW(0.01, weight_decay=0.1), grads)
    got, _, _ = _run(kopt.AdamW(0.01, weight_decay=0.1), grads)
    assert _max_diff(got, expected) < 1e-6

    v64 = keras.Variable(np.ones(4), dtype="float64")
    opt = kopt.Adam(0.1)
    opt.apply([tf.constant(np.full(4, 2.0))], [v64])
    assert v64.dtype == "float64"
    assert np.allclose(v64.numpy(), 1.0 - 0.1)  # first Adam step moves each weight by lr


def test_amsgrad_takes_keras_update():
    grads = _grads(steps=8)
    expected, _, _ = _run(keras.optimizers.Adam(_schedule(), amsgrad=True), grads)
    got, step, _ = _run(kopt.Adam(_schedule(), amsgrad=True), grads)
    assert _max_diff(got, expected) < 1e-6
    assert _op_counts(step, grads)["ResourceApplyAdam"] == 0


def test_sparse_gradients_take_keras_update():
    def train(opt):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((2,), dtype="int32")
        model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Embedding(10, 3)(inputs))))
        model.compile(opt, loss="mse")
        x = np.array([[1, 2], [3, 4], [1, 5], [7, 8]], "int32")
        model.fit(x, np.arange(4, dtype="float32"), epochs=3, batch_size=2, verbose=0)
        return model.get_weights()

    assert _max_diff(train(kopt.Adam(0.01)), train(keras.optimizers.Adam(0.01))) < 1e-5


def test_under_a_distribution_strategy_keras_update_runs():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])

    def train(make_opt):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            inputs = keras.Input((3,))
            model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
            model.compile(make_opt(), loss="mse")
        x = np.random.default_rng(0).random((8, 3)).astype("float32")
        model.fit(x, x[:, :2], epochs=2, batch_size=4, verbose=0)
        return model.get_weights()

    got = train(lambda: kopt.AdamW(0.01, weight_decay=0.1))
    expected = train(lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1))
    assert _max_diff(got, expected) < 1e-5


def test_config_round_trip_and_compiled_model_saves_and_loads(tmp_path):
    opt = kopt.AdamW(_schedule(), weight_decay=1e-4, beta_2=0.99)
    clone = kopt.AdamW.from_config(opt.get_config())
    assert isinstance(clone, kopt.AdamW) and clone.beta_2 == pytest.approx(0.99)
    assert clone.weight_decay == pytest.approx(1e-4)

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(kopt.AdamW(1e-3, weight_decay=1e-4), loss="mse")
    x = np.ones((4, 3), "float32")
    model.fit(x, np.zeros((4, 2), "float32"), epochs=2, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded.optimizer, kopt.AdamW)
    assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))


def test_the_paired_benchmark_tool_times_both_optimizers(tmp_path):
    import importlib.util
    import json
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "bench_optimizer.py")
    spec = importlib.util.spec_from_file_location("bench_optimizer", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(["--data", "sample", "--models", 'mnist_dsdc/small={"width": 4}', "--rounds", "2", "--steps", "2",
               "--out", str(tmp_path)])
    result = json.loads((tmp_path / "bench_optimizer.json").read_text())
    (row,) = result["rows"]
    assert row["model"] == "mnist_dsdc/small" and row["kwargs"] == {"width": 4} and row["weight_decay"] == pytest.approx(1e-4)
    assert len(row["ms"]["keras"]) == len(row["ms"]["kerasdil"]) == 2
    assert row["keras_ms_per_step"] > 0 and row["kerasdil_ms_per_step"] > 0 and row["ratio_median"] > 0
    assert "| mnist_dsdc/small |" in (tmp_path / "bench_optimizer.md").read_text()


def test_a_model_saved_compiled_loads_compiled_after_importing_only_the_layers(tmp_path):
    import subprocess
    import sys
    import textwrap

    from kerasdil.layers import SeparableDilatedConv
    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model

    inputs = keras.Input((8, 8, 4))
    features = keras.layers.GlobalAveragePooling2D()(SeparableDilatedConv(4, dilation_rate=2)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3)(features))
    compile_model(model, get_task("classification"), learning_rate=1e-3, weight_decay=1e-4)
    model.fit(np.zeros((4, 8, 8, 4), "float32"), np.zeros(4, "int32"), verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    script = textwrap.dedent(f"""
        import keras
        import kerasdil.layers
        loaded = keras.models.load_model({path!r})
        print(type(loaded.optimizer).__module__, type(loaded.optimizer).__name__, int(loaded.optimizer.iterations))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-3:] == ["kerasdil.optimizers", "AdamW", "1"]


@pytest.mark.parametrize("weight_decay, name", [(0.0, "Adam"), (1e-4, "AdamW")])
def test_compile_model_uses_the_fused_classes_unless_told_not_to(weight_decay, name):
    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    compile_model(model, get_task("classification"), learning_rate=1e-3, weight_decay=weight_decay)
    assert type(model.optimizer) is getattr(kopt, name)
    compile_model(model, get_task("classification"), learning_rate=1e-3, weight_decay=weight_decay,
                  fused_optimizer=False)
    assert type(model.optimizer) is getattr(keras.optimizers, name)
