"""Speed ablation for mnist_dsdc against the peer: what each optimisation buys.

    python tools/ablate_speed.py --data path/to/mnist.npz

Every variant is built in one process and timed in interleaved rounds (so machine
noise hits all of them alike): training ms/step at batch 128 (the compiled Keras
train step called on prefetched batches, so ``fit``'s per-call setup does not
blur the ratios), Keras inference at batch 256 and batch 1, both through
``predict_on_batch`` (one compiled graph) and eager ``model(x)``. Variants:

- ``peer``: keras_io_convnet.
- ``dsdc``: mnist_dsdc with its current defaults (the shipped architecture).
- ``dsdc_conv_pointwise``: the same, training the 1x1 conv as Conv2D instead of MatMul.
- ``dsdc_fused_bn_only``: the same, training BN with the fused kernel at every channel
  count (no MatMul moments for the 18 and 54 channels that are not multiples of 4).
- ``dsdc_eager_ops``: the same, eager inference op by op (no cached graph function).
- ``dsdc_folded``: inference copy with BN folded into the convs (``fold_batchnorm``).
- ``dsdc_plain_model``: the same layers in a plain ``keras.Model`` instead of a
  ``ZooModel``: eager inference runs one graph function per block, not one for the model.
- ``v1``: the first shipped architecture (width 18, stem at full size + pool,
  schedule (1,2,5),(1,2,3)).
- ``v1_keras_depthwise``: v1 with Keras's SpaceToBatch depthwise path.
- ``v1_keras_bn``: v1 with Keras's unfused BatchNormalization.
- ``v1_naive``: both of the above (what a plain Keras DSDC net does).
- ``v1_width16``: v1 with channels 16/32/48 instead of 18/36/54 (AVX-512 lanes of 16).
- ``v1_width16_strided_stem``: that, with a stride-2 stem conv in place of the first pool.
- ``w16_pool_13``, ``w16_strided_13``, ``w16_space_to_depth_13``: width 16, schedule
  (1, 3), (1, 2, 3), with each of the three stems (the fast end of the
  speed/accuracy trade; their full-recipe accuracies are in zoo/mnist_dsdc/README.md).
- ``w16_32_64_*``, ``w32_32_64_strided``: stage channels 32 / 64 (more width at 7x7,
  where it is cheap) with each stem, fewer or more blocks.
- ``fast``: the architecture of the ``mnist_fast`` weights (``w16_32_64_strided_13``).
- ``fast_nobn``: ``fast`` with ``batchnorm=False`` (a bias per conv, no BN anywhere).
- ``peer_keras_adam``, ``dsdc_keras_adam``, ``fast_keras_adam``: the same models trained
  with Keras's own Adam / AdamW instead of ``kerasdil.optimizers``' fused ones.

Every model trains with its own recipe's optimizer (``kerasdil.train.RECIPES``):
learning rate, AdamW weight decay (mnist_dsdc: 1e-4; the peer: none, plain Adam) and
the cosine schedule, through ``kerasdil.train.compile_model``.

``--variants a,b,...`` times only those (and the peer).

Writes ``ablation.json`` / ``ablation.md`` in ``--out``.
"""

import argparse
import os
import statistics
import sys
import time

from kerasdil.io import write_report


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=20, help="training steps per round")
    p.add_argument("--out", default="runs/ablate_speed")
    p.add_argument("--variants", default=None, help="comma-separated variants to time (the peer is always timed); default all")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.steps < 1:
        p.error("--rounds and --steps must be at least 1")

    import keras
    import tensorflow as tf

    from kerasdil import data
    from kerasdil.layers import fold_batchnorm, tensorflow_fast_path
    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model, recipe
    from kerasdil.zoo import create_model

    arrays = data.load_mnist_arrays(args.data)
    x = data.normalize(arrays.x_train[:128 * 40])
    y = arrays.y_train[:128 * 40].astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(128).repeat().prefetch(4)
    batches = [b for b in ds.take(args.steps)]
    x256, x1 = x[:256], x[:1]
    task = get_task("classification")

    def build(name, **kw):
        keras.utils.set_random_seed(0)
        return create_model(name, **kw)

    v1 = dict(width=18, stem="pool", dilation_schedule=((1, 2, 5), (1, 2, 3)))
    w16_32_64 = dict(width=16, stage_filters=(32, 64))
    recipes = {
        "peer": lambda: build("keras_io_convnet"),
        "dsdc": lambda: build("mnist_dsdc"),
        "dsdc_conv_pointwise": lambda: build("mnist_dsdc"),
        "dsdc_fused_bn_only": lambda: build("mnist_dsdc"),
        "v1": lambda: build("mnist_dsdc", **v1),
        "v1_keras_depthwise": lambda: build("mnist_dsdc", implementation="keras", **v1),
        "v1_keras_bn": lambda: build("mnist_dsdc", **v1),  # timed with fused_batchnorm off
        "v1_naive": lambda: build("mnist_dsdc", implementation="keras", **v1),  # this one too
        "v1_width16": lambda: build("mnist_dsdc", **{**v1, "width": 16}),
        "v1_width16_strided_stem": lambda: build("mnist_dsdc", **{**v1, "width": 16, "stem": "strided"}),
        "w16_pool_13": lambda: build("mnist_dsdc", width=16, stem="pool", dilation_schedule=((1, 3), (1, 2, 3))),
        "w16_strided_13": lambda: build("mnist_dsdc", width=16, stem="strided", dilation_schedule=((1, 3), (1, 2, 3))),
        "w16_space_to_depth_13": lambda: build("mnist_dsdc", width=16, stem="space_to_depth",
                                               dilation_schedule=((1, 3), (1, 2, 3))),
        # channels 16 / 32 / 64: more capacity at 7x7, where it is cheap
        "w16_32_64_pool": lambda: build("mnist_dsdc", stem="pool", **w16_32_64),
        "w16_32_64_strided": lambda: build("mnist_dsdc", stem="strided", **w16_32_64),
        "w16_32_64_space_to_depth": lambda: build("mnist_dsdc", stem="space_to_depth", **w16_32_64),
        "w16_32_64_strided_13": lambda: build("mnist_dsdc", stem="strided", dilation_schedule=((1, 3), (1, 2, 3)),
                                              **w16_32_64),
        "w16_32_64_strided_13_1231": lambda: build("mnist_dsdc", stem="strided",
                                                   dilation_schedule=((1, 3), (1, 2, 3, 1)), **w16_32_64),
        "w16_32_48_strided_13_1231": lambda: build("mnist_dsdc", width=16, stem="strided",
                                                   dilation_schedule=((1, 3), (1, 2, 3, 1))),
        "w32_32_64_strided": lambda: build("mnist_dsdc", width=32, stem="strided", stage_filters=(32, 64)),
        "fast": lambda: build("mnist_dsdc", stem="strided", dilation_schedule=((1, 3), (1, 2, 3)), **w16_32_64),
        "fast_nobn": lambda: build("mnist_dsdc", stem="strided", dilation_schedule=((1, 3), (1, 2, 3)),
                                   batchnorm=False, **w16_32_64),
    }
    for k in ("peer", "dsdc", "fast"):
        recipes[f"{k}_keras_adam"] = recipes[k]
    # Inference-only variants made from the dsdc model itself (same weights).
    from_dsdc = {
        "dsdc_eager_ops": lambda m: m,  # timed with eager_compile off
        "dsdc_folded": fold_batchnorm,  # BN folded into the convs
        # The same layers in a plain keras.Model: one graph function per block, not one for the model.
        "dsdc_plain_model": lambda m: keras.Model(m.inputs, m.outputs),
    }
    known = [*recipes, *from_dsdc]
    chosen = known if not args.variants else ["peer"] + [v for v in args.variants.split(",") if v != "peer"]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; choose from {sorted(known)}")
    if set(from_dsdc) & set(chosen) and "dsdc" not in chosen:
        chosen.insert(1, "dsdc")
    variants = {k: recipes[k]() for k in chosen if k in recipes}
    variants.update({k: from_dsdc[k](variants["dsdc"]) for k in chosen if k in from_dsdc})
    # Variants timed with part of the TensorFlow fast path switched off (same layers).
    flags = {"dsdc_conv_pointwise": {"pointwise_matmul": False}, "dsdc_eager_ops": {"eager_compile": False},
             "dsdc_fused_bn_only": {"matmul_moments": False}, "v1_keras_bn": {"fused_batchnorm": False},
             "v1_naive": {"fused_batchnorm": False}}
    trainable = set(variants) - set(from_dsdc)

    def with_flag(k, fn):
        with tensorflow_fast_path(**flags.get(k, {})):
            return fn()

    def compile_recipe(k, m):
        settings = recipe("keras_io_convnet" if k.startswith("peer") else "mnist_dsdc")
        return compile_model(m, task, learning_rate=settings["learning_rate"], weight_decay=settings["weight_decay"],
                             decay_steps=10_000, fused_optimizer=not k.endswith("_keras_adam"))

    for k, m in variants.items():
        if k in trainable:
            compile_recipe(k, m)
            with_flag(k, lambda: m.fit(ds, steps_per_epoch=3, epochs=1, verbose=0))
    for k, m in variants.items():
        with_flag(k, lambda: (m.predict_on_batch(x256), m.predict_on_batch(x1), m(x1, training=False), m(x256, training=False)))

    def train_steps(m):
        for b in batches:
            m.train_function(iter([b]))

    times = {k: {"train": [], "b256": [], "eager_b256": [], "b1": [], "eager_b1": []} for k in variants}
    for _ in range(args.rounds):
        for k, m in variants.items():
            if k in trainable:
                t0 = time.perf_counter()
                with_flag(k, lambda: train_steps(m))
                times[k]["train"].append((time.perf_counter() - t0) / len(batches))
            for key, fn, reps in (("b256", lambda: m.predict_on_batch(x256), 5),
                                  ("eager_b256", lambda: m(x256, training=False), 5),
                                  ("b1", lambda: m.predict_on_batch(x1), 30),
                                  ("eager_b1", lambda: m(x1, training=False), 30)):
                for _ in range(reps):
                    t0 = time.perf_counter()
                    with_flag(k, fn)
                    times[k][key].append(time.perf_counter() - t0)

    rows = []
    for k, m in variants.items():
        t = {key: statistics.median(v) if v else None for key, v in times[k].items()}
        rows.append(dict(variant=k, params=int(m.count_params()), train_ms_per_step=t["train"] and t["train"] * 1e3,
                         images_per_s_b256=256 / t["b256"], eager_images_per_s_b256=256 / t["eager_b256"],
                         latency_ms_b1=t["b1"] * 1e3, eager_latency_ms_b1=t["eager_b1"] * 1e3))
    peer = rows[0]

    def ratio(r, key, lower_is_better):
        v = r[key]
        if v is None:
            return "-"
        x = v / peer[key]
        return f"{v:,.1f} ({x:.2f}x)" if lower_is_better else f"{v:,.0f} ({x:.2f}x)"

    lines = ["| variant | params | train ms/step b128 | predict img/s b256 | eager img/s b256 | predict b1 ms | eager model(x) b1 ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['params']:,} | {ratio(r, 'train_ms_per_step', True)} | {ratio(r, 'images_per_s_b256', False)} "
                     f"| {ratio(r, 'eager_images_per_s_b256', False)} | {ratio(r, 'latency_ms_b1', True)} | {ratio(r, 'eager_latency_ms_b1', True)} |")
    command = "python tools/ablate_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines += ["", f"(x: ratio to the peer) {args.rounds} interleaved rounds, medians; {os.cpu_count()} CPUs, TF {tf.__version__}. Command: `{command}`"]
    write_report(args.out, "ablation", {"command": command, "rows": rows}, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
