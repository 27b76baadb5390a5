"""minirocket: :class:`~kerasdil.layers.rocket.MiniRocketFeatures` and one Dense head.

MiniRocket's classifier is ridge regression with a leave-one-out choice of the
penalty (scikit-learn's ``RidgeClassifierCV``) on standardised features.
:func:`fit_minirocket` does that in closed form with numpy and writes the result,
standardisation folded in, into the model's Dense layer; ``head="trained"`` fits
the same Dense layer by gradient descent instead. Either way the fitted model is
a plain Keras model: ``predict``, ``save``, ``kerasdil.export``.

Example:
    >>> from kerasdil.zoo.minirocket.model import fit_minirocket, minirocket
    >>> model = minirocket(input_shape=(150, 1), num_classes=2)
    >>> info = fit_minirocket(model, x_train, y_train)      # x (N, 150, 1), y int labels
    >>> accuracy = (model.predict(x_test).argmax(-1) == y_test).mean()
"""

import os

import keras
import numpy as np

from kerasdil.layers import _validate as V
from kerasdil.layers.rocket import MiniRocketFeatures
from kerasdil.zoo.minirocket.record import MINIROCKET_INPUT_SHAPE

__all__ = ["fit_minirocket", "minirocket_features"]

#: The penalties the leave-one-out search tries (RidgeClassifierCV's in MiniRocket).
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 10))
#: Floats of PPV intermediates held at once while computing features (about 128 MB).
_FEATURE_BUDGET = 32 * 2**20


def minirocket(input_shape=MINIROCKET_INPUT_SHAPE, num_classes=2, num_features=10_000, max_dilations_per_kernel=32,
               seed=0, steepness=None, pooling=("ppv",), difference=False, include_top=True, weights=None,
               name="minirocket"):
    """MiniRocket as a Keras model: ``(length, channels)`` series -> class scores.

    The model is not usable until :func:`fit_minirocket` has fitted the feature
    biases and the head (or ``weights`` loads a fitted model's weights).

    Args:
        input_shape: ``(length, channels)``; the length fixes the dilations.
        num_classes: classes of the head (at least 2).
        num_features: MiniRocket features (rounded down to a multiple of 84).
        max_dilations_per_kernel: at most this many dilations (MiniRocket: 32).
        seed: seed of the bias draws (:meth:`MiniRocketFeatures.adapt`).
        steepness: None pools the exact PPV; a number K pools ``clip(K * (response - bias), 0, 1)``,
            which float32 TFLite runs several times faster (see :class:`MiniRocketFeatures`).
        pooling: pooling operators per comparison, from "ppv", "mpv", "mipv" (MiniRocket: "ppv" only).
        difference: also pool the kernels' responses to the series' first difference (MultiRocket).
        include_top: False returns the feature extractor only.
        weights: None, or the path of weights saved from a fitted model of the same
            configuration (``model.save_weights("m.weights.h5")``).
        name: model name.

    Returns:
        A ``keras.Model`` with layers ``features`` and (with the top) ``head``.

    Raises:
        ValueError: a bad shape, class count or weights argument.

    Example:
        >>> model = minirocket(input_shape=(251, 1), num_classes=3)
    """
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 2
            or not all(isinstance(v, int) and v > 0 for v in input_shape)):
        raise ValueError(f"minirocket: `input_shape` must be (length, channels), got {input_shape!r}.")
    V.positive_int("minirocket", "num_classes", num_classes)
    if include_top and num_classes < 2:
        raise ValueError(f"minirocket: `num_classes` must be at least 2, got {num_classes}.")
    if weights is not None and not (isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)):
        raise ValueError(f"minirocket: `weights` must be None or the path of a saved weights file; {weights!r} "
                         "is not a file (no pretrained tags are shipped: fit the model with fit_minirocket).")
    inputs = keras.Input(tuple(input_shape), name="series")
    x = MiniRocketFeatures(num_features, max_dilations_per_kernel, seed, steepness, pooling=pooling,
                           difference=difference, name="features")(inputs)
    if include_top:
        x = keras.layers.Dense(num_classes, name="head")(x)
    model = keras.Model(inputs, x, name=name)
    if weights is not None:
        model.load_weights(os.fspath(weights))
    return model


def minirocket_features(model, x, batch_size=None):
    """The model's MiniRocket features of series ``x``: ``(N, features)`` float32 numpy.

    ``batch_size`` defaults to what keeps the pooling intermediates near 128 MB.
    """
    layer = model.get_layer("features")
    extractor = keras.Model(model.inputs, layer.output)
    if batch_size is None:
        batch_size = max(1, min(256, _FEATURE_BUDGET // (layer.length * layer.output_features)))
    return np.asarray(extractor.predict(x, batch_size=batch_size, verbose=0), np.float32)


def ridge_loo(features, targets, alphas=RIDGE_ALPHAS):
    """Ridge regression with an intercept, its penalty chosen by exact leave-one-out error.

    Args:
        features: ``(N, P)`` (standardised) features.
        targets: ``(N, K)`` regression targets (+1 / -1 per class for classification).
        alphas: penalties to try.

    Returns:
        ``(weights (P, K), intercept (K,), alpha, loo_errors)``, the last a dict
        alpha -> mean squared leave-one-out residual.

    Example:
        >>> w, b, alpha, _ = ridge_loo(np.eye(4), np.array([[1.], [1.], [-1.], [-1.]]))
    """
    z = np.asarray(features, np.float64)
    y = np.asarray(targets, np.float64)
    z_mean, y_mean = z.mean(0), y.mean(0)
    u, s, vt = np.linalg.svd(z - z_mean, full_matrices=False)
    uty = u.T @ (y - y_mean)
    errors, n = {}, len(z)
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        fitted = y_mean + u @ (shrink[:, None] * uty)
        leverage = (u**2 @ shrink) + 1.0 / n  # the intercept's share of the hat matrix
        errors[float(alpha)] = float(np.mean(((y - fitted) / (1.0 - leverage)[:, None]) ** 2))
    alpha = min(errors, key=errors.get)
    weights = vt.T @ ((s / (s**2 + alpha))[:, None] * uty)
    return weights, y_mean - z_mean @ weights, alpha, errors


def fit_minirocket(model, x, y, head="ridge", alphas=RIDGE_ALPHAS, epochs=200, batch_size=32, learning_rate=1e-3,
                   min_std=1e-8, std_floor=0.0, verbose=0):
    """Fit a :func:`minirocket` model on series ``x`` and integer labels ``y``, in place.

    Adapts the feature biases on ``x``, standardises the features (mean and
    standard deviation over ``x``) and fits the head: ``"ridge"`` solves it in
    closed form with a leave-one-out penalty (MiniRocket's ``RidgeClassifierCV``),
    ``"trained"`` trains it with Adam and cross-entropy for ``epochs``. The
    standardisation is folded into the Dense weights, so the model takes raw series.

    Args:
        model: a model from :func:`minirocket` (with its top).
        x: ``(N, length, channels)`` training series.
        y: ``(N,)`` integer labels in ``[0, num_classes)``.
        head: "ridge" or "trained".
        alphas: ridge penalties to try.
        epochs, batch_size, learning_rate: the trained head's recipe.
        min_std: features whose standard deviation over ``x`` is below this are
            constant and left unscaled.
        std_floor: scale the other features by ``max(std, std_floor x their median std)``. 0 (default)
            is MiniRocket's standardisation; 0.1 stops near-constant features from getting the huge
            head weights that one int8 scale per class cannot hold (full-integer TFLite).
        verbose: Keras verbosity of the trained head.

    Returns:
        dict: ``head``, ``alpha`` (ridge) and ``train_accuracy``.

    Raises:
        ValueError: a bad ``head``, or labels outside the head's classes.

    Example:
        >>> info = fit_minirocket(model, x_train, y_train, head="ridge")
    """
    if head not in ("ridge", "trained"):
        raise ValueError(f"fit_minirocket: `head` must be 'ridge' or 'trained', got {head!r}.")
    if isinstance(std_floor, bool) or not isinstance(std_floor, (int, float)) or not 0 <= std_floor < 1:
        raise ValueError(f"fit_minirocket: `std_floor` must be a number in [0, 1), got {std_floor!r}.")
    dense = model.get_layer("head")
    num_classes = dense.units
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if len(y) != len(x) or y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"fit_minirocket: y must hold one label in [0, {num_classes}) per series; got {len(y)} "
                         f"labels in [{y.min()}, {y.max()}] for {len(x)} series.")
    model.get_layer("features").adapt(x)
    features = minirocket_features(model, x)
    mean, std = features.mean(0), features.std(0)
    varying = std >= min_std
    if std_floor and varying.any():
        std = np.maximum(std, std_floor * np.median(std[varying]))
    std = np.where(varying, std, 1.0)  # constant features: left unscaled, as StandardScaler does
    z = (features - mean) / std
    info = {"head": head}
    if head == "ridge":
        weights, intercept, info["alpha"], _ = ridge_loo(z, 2.0 * np.eye(num_classes)[y] - 1.0, alphas)
    else:
        weights, intercept = _train_head(z, y, num_classes, epochs, batch_size, learning_rate, verbose)
    kernel = weights / std[:, None]
    dense.set_weights([kernel.astype(np.float32), (intercept - mean @ kernel).astype(np.float32)])
    info["train_accuracy"] = float(np.mean((features @ kernel + intercept - mean @ kernel).argmax(-1) == y))
    return info


def _train_head(z, y, num_classes, epochs, batch_size, learning_rate, verbose):
    """A Dense softmax layer on standardised features, trained with Adam: ``(weights, intercept)``."""
    inputs = keras.Input((z.shape[1],))
    head = keras.layers.Dense(num_classes)
    probe = keras.Model(inputs, head(inputs))
    probe.compile(keras.optimizers.Adam(learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    probe.fit(z.astype(np.float32), y, epochs=epochs, batch_size=batch_size, verbose=verbose, shuffle=True)
    weights, intercept = head.get_weights()
    return weights.astype(np.float64), intercept.astype(np.float64)
