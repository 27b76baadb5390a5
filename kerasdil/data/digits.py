"""scikit-learn's bundled digits (8 x 8, values 0..16) made to look like MNIST.

``sklearn.datasets.load_digits()`` ships inside scikit-learn (no download): 1,797
images of 8 x 8 pixels with values 0..16. For transfer from MNIST models each
image is scaled to 0..255, resized (numpy bilinear) to ``digit_size`` x
``digit_size`` (default 20, the size of the digit box inside an MNIST image)
and centred on a 28 x 28 black canvas, as MNIST digits are.

Example:
    >>> from kerasdil.data.digits import load_digits_arrays, few_shot_split
    >>> x, y = load_digits_arrays()            # uint8 (1797, 28, 28), (1797,)
    >>> train_idx, test_idx = few_shot_split(y, per_class=10, seed=0)
"""

import numpy as np

from kerasdil.data.scenes import resize_bilinear


def load_digits_arrays(image_size=28, digit_size=20):
    """scikit-learn's digits as MNIST-like uint8 images.

    Args:
        image_size: side of the output canvas. Default 28 (MNIST).
        digit_size: side the 8 x 8 digit is resized to, centred on the canvas. Default 20.

    Returns:
        (images uint8 ``(1797, image_size, image_size)``, labels uint8 ``(1797,)``).

    Raises:
        ImportError: scikit-learn is not installed (``pip install kerasdil[finetune]``).
        ValueError: ``digit_size`` larger than ``image_size`` or not positive.
    """
    if not 0 < digit_size <= image_size:
        raise ValueError(f"digits: `digit_size` must be in 1..image_size ({image_size}), got {digit_size!r}.")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the digits data set needs scikit-learn: pip install 'kerasdil[finetune]'.") from None
    bunch = load_digits()
    raw = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    images = np.zeros((len(raw), image_size, image_size), np.uint8)
    top = (image_size - digit_size) // 2
    for i, img in enumerate(raw):
        images[i, top : top + digit_size, top : top + digit_size] = resize_bilinear(img, digit_size)
    return images, bunch.target.astype(np.uint8)


def few_shot_split(labels, per_class=10, seed=0):
    """Indices of ``per_class`` training images per class (drawn with ``seed``) and of the rest.

    Returns:
        (train indices, test indices), sorted int arrays that do not overlap.

    Raises:
        ValueError: ``per_class`` < 1 or a class with too few images.
    """
    labels = np.asarray(labels)
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 1:
        raise ValueError(f"few_shot_split: `per_class` must be an int >= 1, got {per_class!r}.")
    rng = np.random.default_rng(seed)
    train = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) <= per_class:
            raise ValueError(f"few_shot_split: class {c} has {len(members)} images, not more than per_class={per_class}.")
        train.extend(rng.choice(members, per_class, replace=False))
    train = np.sort(np.asarray(train))
    test = np.setdiff1d(np.arange(len(labels)), train)
    return train, test
