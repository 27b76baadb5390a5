"""Small real-image folders for the user-data tests, written with TensorFlow's PNG/JPEG encoders.

- MNIST digits from the embedded sample (grayscale 28x28 PNGs),
- scikit-learn's 8x8 digits (grayscale, scaled to 0..255),
- RGB crops of scikit-learn's two bundled sample photos (china.jpg, flower.jpg),
- a segmentation folder of MNIST digits on a canvas with masks of class ids.
"""

import os

import numpy as np

DIGIT_NAMES = ("zero", "one", "two")


def _write(path, image, fmt="png"):
    import tensorflow as tf

    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = np.asarray(image, np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    data = tf.io.encode_png(image) if fmt == "png" else tf.io.encode_jpeg(image, quality=95)
    tf.io.write_file(path, data)
    return path


def mnist_digits(per_class, classes=3, split="train"):
    """``(images uint8 (N, 28, 28), labels)`` of the first ``per_class`` sample images of classes 0..classes-1."""
    from kerasdil.data import load_mnist_arrays

    arrays = load_mnist_arrays("sample")
    x, y = (arrays.x_train, arrays.y_train) if split == "train" else (arrays.x_test, arrays.y_test)
    pick = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(classes)])
    return x[pick], y[pick].astype(np.int64)


def mnist_folder(root, per_class=6, classes=3, split="train"):
    """``root/<name>/<i>.png``: grayscale MNIST digits, one folder per class."""
    x, y = mnist_digits(per_class, classes, split)
    for i, (image, label) in enumerate(zip(x, y)):
        _write(os.path.join(root, DIGIT_NAMES[label], f"{i:03d}.png"), image)
    return root


def digits_folder(root, per_class=6, classes=3, fmt="png"):
    """``root/<name>/d<i>.png``: scikit-learn's 8x8 digits, scaled to 0..255."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    for c in range(classes):
        for j, i in enumerate(np.flatnonzero(digits.target == c)[:per_class]):
            image = np.round(digits.images[i] * (255.0 / 16.0))
            _write(os.path.join(root, DIGIT_NAMES[c], f"d{j:03d}.{fmt}"), image, fmt)
    return root


def photo_crops(per_class, size=32, seed=0):
    """``{name: [RGB uint8 (size, size, 3), ...]}`` of random crops of the two sample photos."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images()
    rng = np.random.default_rng(seed)
    out = {}
    for name, photo in zip(("china", "flower"), photos.images):
        h, w = photo.shape[:2]
        crops = []
        for _ in range(per_class):
            top, left = rng.integers(0, h - size), rng.integers(0, w - size)
            crops.append(photo[top:top + size, left:left + size])
        out[name] = crops
    return out


def photo_folder(root, per_class=6, size=32, fmt="jpg", seed=0):
    """``root/china/*.jpg`` and ``root/flower/*.jpg``: RGB crops of scikit-learn's sample photos."""
    for name, crops in photo_crops(per_class, size, seed).items():
        for i, crop in enumerate(crops):
            _write(os.path.join(root, name, f"{i:03d}.{fmt}"), crop, "jpeg" if fmt == "jpg" else "png")
    return root


def scenes_folder(root, count=12, canvas=(32, 32), classes=3, with_names=True, seed=0):
    """``root/images/*.png``, ``root/masks/*.png`` (0 background, 1 + d the strokes of digit d),
    ``root/classes.txt``: one MNIST digit pasted at a random place per image."""
    rng = np.random.default_rng(seed)
    x, y = mnist_digits(count // classes + 1, classes)
    order = rng.permutation(len(x))[:count]
    for i, k in enumerate(order):
        image = np.zeros(canvas, np.uint8)
        mask = np.zeros(canvas, np.uint8)
        top, left = rng.integers(0, canvas[0] - 28 + 1), rng.integers(0, canvas[1] - 28 + 1)
        image[top:top + 28, left:left + 28] = x[k]
        mask[top:top + 28, left:left + 28] = np.where(x[k] > 127, y[k] + 1, 0)
        _write(os.path.join(root, "images", f"s{i:03d}.png"), image)
        _write(os.path.join(root, "masks", f"s{i:03d}.png"), mask)
    if with_names:
        with open(os.path.join(root, "classes.txt"), "w") as f:
            f.write("background\n" + "".join(f"{n}\n" for n in DIGIT_NAMES[:classes]))
    return root
