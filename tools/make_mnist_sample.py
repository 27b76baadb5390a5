#!/usr/bin/env python
"""Make the small MNIST sample embedded in kerasdil (kerasdil/data/sample/).

Picks, deterministically, a class-balanced subset of real MNIST: ``--train-per-class``
images of every digit from ``x_train`` and ``--test-per-class`` from ``x_test``
(defaults 200 and 50: 2,000 train / 500 test). Within each class the images are
drawn without replacement by ``numpy.random.default_rng(seed)``; the chosen
indices are then put in one seeded random order, so a prefix of the sample is
still roughly balanced. The source indices are stored too (``train_indices``,
``test_indices``), so every image can be traced back to the full file.

Writes ``mnist_sample.npz`` (``numpy.savez_compressed``, uint8, no pickles) via a
temporary name and a rename, and ``README.md`` with the provenance and sha256s.

Usage:
    python tools/make_mnist_sample.py path/to/mnist.npz
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "kerasdil", "data", "sample")


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def balanced_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of every class 0..9, drawn without replacement, then shuffled."""
    chosen = []
    for digit in range(10):
        pool = np.flatnonzero(labels == digit)
        if pool.size < per_class:
            raise SystemExit(f"class {digit} has only {pool.size} images, need {per_class}")
        chosen.append(np.sort(rng.choice(pool, size=per_class, replace=False)))
    return rng.permutation(np.concatenate(chosen))


def write_atomic_npz(path: str, **arrays) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".mnist_sample.", suffix=".npz", dir=directory)
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a package file is world-readable
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_atomic_text(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


README = """\
# Embedded MNIST sample

`mnist_sample.npz` is a small, real subset of MNIST shipped inside kerasdil so the
quick start and the tests run with no download. `kerasdil.data.load_mnist_arrays`
uses it for `source="sample"`, and in auto mode only as the last resort, always
with a `SampleDataWarning`. It is **not** the full data set: numbers measured on
it are not comparable with full-MNIST results.

| array          | shape           | dtype | content |
|----------------|-----------------|-------|---------|
| x_train        | ({n_train}, 28, 28) | uint8 | images from MNIST `x_train`, {train_per_class} per digit |
| y_train        | ({n_train},)        | uint8 | labels 0..9 |
| x_test         | ({n_test}, 28, 28)  | uint8 | images from MNIST `x_test` (the official test set), {test_per_class} per digit |
| y_test         | ({n_test},)         | uint8 | labels 0..9 |
| train_indices  | ({n_train},)        | int32 | row of each `x_train` image in the source file |
| test_indices   | ({n_test},)         | int32 | row of each `x_test` image in the source file |

## How it was chosen
For every digit, `numpy.random.default_rng({seed})` draws {train_per_class} (train)
and {test_per_class} (test) indices without replacement from that digit's images;
the selected indices are then put in one random order from the same generator
(train first, then test), so any prefix is roughly class balanced. Saved with
`numpy.savez_compressed`; it loads with `allow_pickle=False`.

## Source
MNIST (LeCun, Cortes, Burges), the standard 60,000 / 10,000 split, in the layout
that `keras.datasets.mnist.load_data()` caches (`mnist.npz`).
License: Creative Commons Attribution-Share Alike 3.0, as stated by Keras.

- source file: `{source_name}`, sha256 `{source_sha}`
- sample: `mnist_sample.npz`, {sample_bytes:,} bytes, sha256 `{sample_sha}`

## Command
```
python tools/make_mnist_sample.py {source_arg} --seed {seed} --train-per-class {train_per_class} --test-per-class {test_per_class}
```
The same source file and arguments reproduce the same arrays.
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="full MNIST .npz (x_train, y_train, x_test, y_test)")
    parser.add_argument("--out-dir", default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-per-class", type=int, default=200)
    parser.add_argument("--test-per-class", type=int, default=50)
    args = parser.parse_args(argv)

    with np.load(args.source, allow_pickle=False) as full:
        x_train, y_train = full["x_train"], full["y_train"]
        x_test, y_test = full["x_test"], full["y_test"]
    rng = np.random.default_rng(args.seed)
    train_idx = balanced_indices(y_train, args.train_per_class, rng)
    test_idx = balanced_indices(y_test, args.test_per_class, rng)

    os.makedirs(args.out_dir, exist_ok=True)
    sample_path = os.path.join(args.out_dir, "mnist_sample.npz")
    write_atomic_npz(
        sample_path,
        x_train=x_train[train_idx].astype(np.uint8),
        y_train=y_train[train_idx].astype(np.uint8),
        x_test=x_test[test_idx].astype(np.uint8),
        y_test=y_test[test_idx].astype(np.uint8),
        train_indices=train_idx.astype(np.int32),
        test_indices=test_idx.astype(np.int32),
    )
    readme = README.format(
        n_train=train_idx.size,
        n_test=test_idx.size,
        train_per_class=args.train_per_class,
        test_per_class=args.test_per_class,
        seed=args.seed,
        source_name=os.path.basename(args.source),
        source_arg=args.source,
        source_sha=sha256(args.source),
        sample_bytes=os.path.getsize(sample_path),
        sample_sha=sha256(sample_path),
    )
    write_atomic_text(os.path.join(args.out_dir, "README.md"), readme)
    print(f"wrote {sample_path} ({os.path.getsize(sample_path):,} bytes, sha256 {sha256(sample_path)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
