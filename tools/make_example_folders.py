"""Write three small data folders, offline, the way a user brings their own images.

Each folder holds ``train/`` and ``test/``.

- ``photos/``: 48x48 RGB crops of scikit-learn's two sample photos (china.jpg,
  flower.jpg), 4 classes (the top and bottom half of each photo); the training
  crops come from the left 70% of each region, ``test/`` from the right 30%.
- ``digits/``: scikit-learn's 8x8 digits upscaled to 32x32 grayscale PNGs, one
  folder per class.
- ``scenes/``: 96x96 RGB scenes of coloured MNIST digits on photo backgrounds,
  ``images/`` and ``masks/`` (PNG class ids: 0 background, 1 + d the strokes of
  digit d) with ``classes.txt``; the test scenes are made from MNIST's test
  digits on other parts of the photos.

Usage:
    python tools/make_example_folders.py --out path/to/folders --mnist path/to/mnist.npz
"""

import argparse
import os

import numpy as np

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _save(path, image):
    from PIL import Image

    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(image, np.uint8)).save(path)


def _resize(image, size):
    from PIL import Image

    return np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize(size[::-1], Image.BILINEAR))


def _photo_regions():
    """``{class name: (photo, (top, bottom))}``: the top and bottom half of each sample photo."""
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    regions = {}
    for name, photo in (("china", china), ("flower", flower)):
        h = photo.shape[0]
        regions[f"{name}_top"] = (photo, (0, h // 2))
        regions[f"{name}_bottom"] = (photo, (h // 2, h))
    return regions


def _crop(rng, photo, rows, cols, size, scale=(1.0, 2.0)):
    """A random square crop inside ``rows`` x ``cols`` of ``photo``, ``scale`` x ``size`` wide, resized to ``size``."""
    side = int(size * rng.uniform(*scale))
    side = min(side, rows[1] - rows[0], cols[1] - cols[0])
    top = rng.integers(rows[0], rows[1] - side + 1)
    left = rng.integers(cols[0], cols[1] - side + 1)
    return _resize(photo[top:top + side, left:left + side], (size, size))


def write_photo_folder(root, per_class=80, test_per_class=25, size=48, seed=0):
    """``root/train/<class>/*.png`` and ``root/test/<class>/*.png``: 4 classes of RGB photo crops."""
    rng = np.random.default_rng(seed)
    for name, (photo, rows) in _photo_regions().items():
        w = photo.shape[1]
        split = int(0.7 * w)
        for folder, count, cols in ((os.path.join(root, "train"), per_class, (0, split)),
                                    (os.path.join(root, "test"), test_per_class, (split, w))):
            for i in range(count):
                _save(os.path.join(folder, name, f"{i:03d}.png"), _crop(rng, photo, rows, cols, size))
    return root


def write_digits_folder(root, per_class=40, test_per_class=15, size=32):
    """``root/train/<digit name>/*.png`` and ``root/test/...``: scikit-learn's digits upscaled to ``size``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    for c, name in enumerate(DIGIT_NAMES):
        picks = np.flatnonzero(digits.target == c)
        for folder, chosen in ((os.path.join(root, "train"), picks[:per_class]),
                               (os.path.join(root, "test"), picks[per_class:per_class + test_per_class])):
            for i in chosen:
                image = np.round(digits.images[i] * (255.0 / 16.0))
                _save(os.path.join(folder, name, f"d{i:04d}.png"), _resize(image, (size, size)))
    return root


def _scene(rng, photo, rows, cols, digits, labels, canvas):
    """One scene: a photo crop with 1-3 coloured digits (scaled 1-2x) pasted on it, and its mask."""
    image = _crop(rng, photo, rows, cols, canvas, scale=(1.0, 1.5)).astype(np.float32)
    mask = np.zeros((canvas, canvas), np.uint8)
    for _ in range(rng.integers(1, 4)):
        k = rng.integers(len(digits))
        side = int(28 * rng.uniform(1.0, 2.0))
        digit = _resize(digits[k], (side, side)).astype(np.float32) / 255.0
        top, left = rng.integers(0, canvas - side + 1, size=2)
        colour = rng.uniform(0, 255, size=3)
        alpha = digit[..., None]
        patch = image[top:top + side, left:left + side]
        image[top:top + side, left:left + side] = patch * (1 - alpha) + colour * alpha
        region = mask[top:top + side, left:left + side]
        region[digit > 0.5] = labels[k] + 1
    return image, mask


def write_scenes_folder(root, mnist_file, count=300, test_count=100, canvas=96, seed=0):
    """``root/train`` and ``root/test``, each with ``images/``, ``masks/`` and ``classes.txt``."""
    rng = np.random.default_rng(seed)
    with np.load(mnist_file) as f:
        x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    regions = list(_photo_regions().values())
    for folder, n, digits, labels, left_part in ((os.path.join(root, "train"), count, x_train, y_train, True),
                                                 (os.path.join(root, "test"), test_count, x_test, y_test, False)):
        for i in range(n):
            photo, rows = regions[i % len(regions)]
            w = photo.shape[1]
            cols = (0, int(0.7 * w)) if left_part else (int(0.7 * w), w)
            image, mask = _scene(rng, photo, rows, cols, digits, labels, canvas)
            _save(os.path.join(folder, "images", f"s{i:04d}.png"), np.clip(image, 0, 255))
            _save(os.path.join(folder, "masks", f"s{i:04d}.png"), mask)
        with open(os.path.join(folder, "classes.txt"), "w") as f:
            f.write("background\n" + "".join(f"{name}\n" for name in DIGIT_NAMES))
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write photos/, digits/ and scenes/ into")
    parser.add_argument("--mnist", required=True, help="path/to/mnist.npz (the scenes' digits)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in ("photos", "digits", "scenes"):
        if os.path.exists(os.path.join(args.out, name)):
            parser.error(f"{os.path.join(args.out, name)} exists; choose another --out.")
    print(write_photo_folder(os.path.join(args.out, "photos"), seed=args.seed))
    print(write_digits_folder(os.path.join(args.out, "digits")))
    print(write_scenes_folder(os.path.join(args.out, "scenes"), args.mnist, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
