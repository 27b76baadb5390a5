"""Speed ablation for mnist_dsdc against the peer: what each optimisation buys.

    python tools/ablate_speed.py --data ../shared/data/mnist.npz

Every variant is built in one process and timed in interleaved rounds (so machine
noise hits all of them alike): training ms/step at batch 128 (compiled ``fit``),
Keras inference at batch 256 (``predict_on_batch``) and batch 1 (``predict_on_batch``
and eager ``model(x)``). Variants:

- ``peer``: keras_io_convnet.
- ``dsdc``: mnist_dsdc as shipped (native dilated depthwise, fused BN).
- ``dsdc_keras_depthwise``: Keras's SpaceToBatch depthwise path (implementation="keras").
- ``dsdc_keras_bn``: Keras's unfused BatchNormalization.
- ``dsdc_naive``: both of the above (what a plain Keras DSDC net does).
- ``dsdc_folded``: inference copy with BN folded into the convs (``fold_batchnorm``).
- ``dsdc_width16``: channel counts 16/32/48 instead of 18/36/54 (AVX-512 lanes of 16).

Writes ``ablation.json`` / ``ablation.md`` in ``--out``.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=20, help="training steps per round")
    p.add_argument("--out", default="runs/ablate_speed")
    args = p.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    import kerasdil.layers.conv as conv
    from kerasdil import data
    from kerasdil.layers import fold_batchnorm
    from kerasdil.tasks import get_task
    from kerasdil.train import compile_model
    from kerasdil.zoo import create_model

    arrays = data.load_mnist_arrays(args.data)
    x = data.normalize(arrays.x_train[:128 * 40])
    y = arrays.y_train[:128 * 40].astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(128).repeat().prefetch(4)
    x256, x1 = x[:256], x[:1]
    task = get_task("classification")

    def keras_bn(name):
        return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3, name=name)

    def build(name, keras_bn_layers=False, **kw):
        original = conv._bn
        if keras_bn_layers:
            conv._bn = keras_bn
        try:
            return create_model(name, **kw)
        finally:
            conv._bn = original

    variants = {
        "peer": build("keras_io_convnet"),
        "dsdc": build("mnist_dsdc"),
        "dsdc_keras_depthwise": build("mnist_dsdc", implementation="keras"),
        "dsdc_keras_bn": build("mnist_dsdc", keras_bn_layers=True),
        "dsdc_naive": build("mnist_dsdc", keras_bn_layers=True, implementation="keras"),
        "dsdc_width16": build("mnist_dsdc", width=16),
    }
    variants["dsdc_folded"] = fold_batchnorm(variants["dsdc"])
    trainable = {k: m for k, m in variants.items() if k != "dsdc_folded"}
    for m in trainable.values():
        compile_model(m, task, learning_rate=1e-3)
        m.fit(ds, steps_per_epoch=5, epochs=1, verbose=0)
    for m in variants.values():
        m.predict_on_batch(x256)
        m.predict_on_batch(x1)
        m(x1, training=False)

    times = {k: {"train": [], "b256": [], "b1": [], "eager_b1": []} for k in variants}
    for _ in range(args.rounds):
        for k, m in variants.items():
            if k in trainable:
                t0 = time.perf_counter()
                m.fit(ds, steps_per_epoch=args.steps, epochs=1, verbose=0)
                times[k]["train"].append((time.perf_counter() - t0) / args.steps)
            for key, fn, reps in (("b256", lambda: m.predict_on_batch(x256), 5), ("b1", lambda: m.predict_on_batch(x1), 30),
                                  ("eager_b1", lambda: m(x1, training=False), 30)):
                for _ in range(reps):
                    t0 = time.perf_counter()
                    fn()
                    times[k][key].append(time.perf_counter() - t0)

    rows = []
    for k in variants:
        t = {key: statistics.median(v) if v else None for key, v in times[k].items()}
        rows.append(dict(variant=k, train_ms_per_step=t["train"] and t["train"] * 1e3,
                         images_per_s_b256=256 / t["b256"], latency_ms_b1=t["b1"] * 1e3, eager_latency_ms_b1=t["eager_b1"] * 1e3))
    peer = rows[0]
    lines = ["| variant | train ms/step b128 (x peer) | predict img/s b256 (x peer) | predict b1 ms (x peer) | eager model(x) b1 ms (x peer) |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        train = f"{r['train_ms_per_step']:.1f} ({r['train_ms_per_step'] / peer['train_ms_per_step']:.2f}x)" if r["train_ms_per_step"] else "-"
        lines.append(f"| {r['variant']} | {train} | {r['images_per_s_b256']:,.0f} ({r['images_per_s_b256'] / peer['images_per_s_b256']:.2f}x) "
                     f"| {r['latency_ms_b1']:.2f} ({r['latency_ms_b1'] / peer['latency_ms_b1']:.2f}x) "
                     f"| {r['eager_latency_ms_b1']:.2f} ({r['eager_latency_ms_b1'] / peer['eager_latency_ms_b1']:.2f}x) |")
    command = "python tools/ablate_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines += ["", f"{args.rounds} interleaved rounds, medians; {os.cpu_count()} CPUs, TF {tf.__version__}. Command: `{command}`"]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ablation.json"), "w") as f:
        json.dump({"command": command, "rows": rows}, f, indent=2)
    with open(os.path.join(args.out, "ablation.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
