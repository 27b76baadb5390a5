"""Few-shot transfer: mnist_dsdc fine-tuned on scikit-learn's digits vs trained from scratch.

    nice -n 5 python tools/finetune_digits.py --per-class 10 --seeds 0,1,2 \\
        --out zoo/deeplab_aspp/finetune_digits

scikit-learn's bundled digits (1,797 images, 8 x 8, values 0..16; no download) are
made MNIST-like by ``kerasdil.data.load_digits_arrays`` (0..255, resized to 20 x 20,
centred on 28 x 28). For each seed, ``--per-class`` images per class train and all
the others test. Three arms, the same images, epochs and augmentation:

- ``pretrained, no training``: ``mnist_dsdc(weights=--source)`` as is (zero-shot);
- ``fine-tuned``: the same start, ``--head-epochs`` with the backbone frozen
  (``kerasdil.finetune.freeze_backbone``), then every layer at ``--finetune-lr``;
- ``scratch``: ``mnist_dsdc()`` randomly initialised, ``--epochs`` at ``--lr``.

Writes ``results.json`` and ``results.md`` into ``--out``.
"""

import argparse
import json
import os
import sys
import time



def _accuracy(model, x, y):
    import numpy as np

    probs = np.asarray(model.predict(x, batch_size=256, verbose=0))
    return float((probs.argmax(-1) == y).mean())


def run_seed(seed, args, log):
    import keras
    import numpy as np

    from kerasdil.data import MnistArrays, mnist, normalize
    from kerasdil.data.digits import few_shot_split, load_digits_arrays
    from kerasdil.finetune import freeze_backbone, unfreeze
    from kerasdil.zoo import mnist_dsdc

    x, y = load_digits_arrays()
    train_idx, test_idx = few_shot_split(y, per_class=args.per_class, seed=seed)
    arrays = MnistArrays(x_train=x[train_idx], y_train=y[train_idx], x_test=x[test_idx], y_test=y[test_idx],
                         source="scikit-learn digits")
    x_test = normalize(arrays.x_test)

    def data():
        return mnist("train", source=arrays, batch_size=args.batch_size, augment=True, seed=seed)

    def compile_(model, lr):
        model.compile(keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    out = {"seed": seed, "train_images": int(len(train_idx)), "test_images": int(len(test_idx))}
    keras.utils.set_random_seed(seed)
    pretrained = mnist_dsdc(weights=args.source)
    out["zero_shot"] = _accuracy(pretrained, x_test, arrays.y_test)

    start = time.perf_counter()
    curve = []
    freeze_backbone(pretrained)
    compile_(pretrained, args.lr)
    h = pretrained.fit(data(), epochs=args.head_epochs, verbose=0).history
    curve += h["accuracy"]
    unfreeze(pretrained)
    compile_(pretrained, args.finetune_lr)
    h = pretrained.fit(data(), epochs=args.epochs - args.head_epochs, verbose=0).history
    curve += h["accuracy"]
    out["finetuned"] = _accuracy(pretrained, x_test, arrays.y_test)
    out["finetuned_seconds"] = round(time.perf_counter() - start, 1)

    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    scratch = mnist_dsdc()
    compile_(scratch, args.lr)
    h = scratch.fit(data(), epochs=args.epochs, verbose=0).history
    out["scratch"] = _accuracy(scratch, x_test, arrays.y_test)
    out["scratch_seconds"] = round(time.perf_counter() - start, 1)
    out["train_accuracy_last_epoch"] = {"finetuned": curve[-1], "scratch": h["accuracy"][-1]}
    log(f"seed {seed}: zero-shot {out['zero_shot']:.4f}, fine-tuned {out['finetuned']:.4f}, "
        f"scratch {out['scratch']:.4f} on {len(test_idx)} test images")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default="mnist", help="mnist_dsdc weights: a shipped tag (default 'mnist') or a file")
    p.add_argument("--per-class", type=int, default=10)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=60, help="total epochs of every trained arm")
    p.add_argument("--head-epochs", type=int, default=10, help="fine-tuned: epochs with the backbone frozen")
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3, help="scratch, and the fine-tuned head phase")
    p.add_argument("--finetune-lr", type=float, default=2e-4, help="fine-tuned: every layer")
    p.add_argument("--out", default="zoo/deeplab_aspp/finetune_digits")
    args = p.parse_args(argv)
    if not 0 <= args.head_epochs < args.epochs:
        p.error("--head-epochs must be in 0..epochs-1")

    import numpy as np

    log = lambda msg: print(msg, flush=True)  # noqa: E731
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    runs = [run_seed(s, args, log) for s in seeds]
    summary = {
        arm: {"mean": float(np.mean([r[arm] for r in runs])), "std": float(np.std([r[arm] for r in runs])),
              "per_seed": [r[arm] for r in runs]}
        for arm in ("zero_shot", "finetuned", "scratch")
    }
    command = "nice -n 5 python tools/finetune_digits.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report = {"command": command.strip(), "settings": vars(args), "summary": summary, "runs": runs}
    os.makedirs(args.out, exist_ok=True)
    tmp = os.path.join(args.out, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, os.path.join(args.out, "results.json"))
    n_test = runs[0]["test_images"]
    lines = [
        f"scikit-learn digits, {args.per_class} training images per class ({10 * args.per_class} in all), "
        f"the other {n_test:,} as test; mean ± std over seeds {', '.join(map(str, seeds))}.",
        "",
        "| mnist_dsdc | test accuracy | per seed |",
        "|---|---:|---|",
    ]
    names = {"zero_shot": f"pretrained ({args.source}), no training",
             "finetuned": f"fine-tuned: {args.head_epochs} head epochs + {args.epochs - args.head_epochs} all layers",
             "scratch": f"from scratch: {args.epochs} epochs"}
    for arm, label in names.items():
        s = summary[arm]
        lines.append(f"| {label} | {s['mean']:.4f} ± {s['std']:.4f} | {', '.join(f'{v:.4f}' for v in s['per_seed'])} |")
    lines += ["", f"Command: `{report['command']}`"]
    tmp = os.path.join(args.out, "results.md.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(args.out, "results.md"))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
