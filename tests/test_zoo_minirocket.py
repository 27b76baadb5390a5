"""kerasdil.zoo.minirocket: the builder, the closed-form ridge head and the trained head."""

import numpy as np
import pytest

from kerasdil.zoo import create_model, list_models, minirocket
from kerasdil.zoo.minirocket.model import fit_minirocket, ridge_loo


def _two_classes(n, length=64, seed=0):
    """Slow against fast sine waves with noise and random phase: class = frequency."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = np.sin(t[None] * np.where(y == 1, 0.6, 0.15)[:, None] + phase) + 0.3 * rng.normal(size=(n, length))
    return x[..., None].astype(np.float32), y


def test_ridge_loo_matches_scikit_learns_ridge_classifier_cv():
    from sklearn.linear_model import RidgeClassifierCV

    rng = np.random.default_rng(0)
    z = rng.normal(size=(40, 300))
    y = (z[:, :5].sum(1) + rng.normal(size=40) > 0).astype(int)
    alphas = np.logspace(-3, 3, 10)
    w, b, alpha, _ = ridge_loo(z, 2.0 * np.eye(2)[y] - 1.0, alphas)
    reference = RidgeClassifierCV(alphas=alphas).fit(z, y)
    assert alpha == pytest.approx(reference.alpha_)
    z_new = rng.normal(size=(20, 300))
    np.testing.assert_array_equal((z_new @ w + b).argmax(-1), reference.predict(z_new))


def test_entry_is_registered_and_builds_for_a_series_shape():
    assert "minirocket" in list_models()
    model = create_model("minirocket", input_shape=(90, 3), num_classes=4, num_features=168)
    assert model.output_shape == (None, 4)
    assert model.get_layer("features").output_features == 168


@pytest.mark.parametrize("head", ["ridge", "trained"])
def test_fitted_model_classifies_held_out_series(head):
    x, y = _two_classes(60)
    x_test, y_test = _two_classes(60, seed=1)
    model = minirocket(input_shape=(64, 1), num_classes=2, num_features=840)
    info = fit_minirocket(model, x, y, head=head, epochs=30)
    assert info["head"] == head and info["train_accuracy"] == 1.0
    assert (model.predict(x_test, verbose=0).argmax(-1) == y_test).mean() >= 0.9


def test_fitted_model_reloads_from_saved_weights(tmp_path):
    x, y = _two_classes(30)
    model = minirocket(input_shape=(64, 1), num_classes=2, num_features=168)
    fit_minirocket(model, x, y)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    again = minirocket(input_shape=(64, 1), num_classes=2, num_features=168, weights=path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_bad_arguments_are_one_clear_sentence():
    with pytest.raises(ValueError, match="minirocket: `input_shape`"):
        minirocket(input_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="no pretrained tags"):
        minirocket(weights="gunpoint")
    model = minirocket(input_shape=(64, 1), num_classes=2, num_features=84)
    x, y = _two_classes(10)
    with pytest.raises(ValueError, match="head"):
        fit_minirocket(model, x, y, head="svm")
    with pytest.raises(ValueError, match="std_floor"):
        fit_minirocket(model, x, y, std_floor=2.0)
    with pytest.raises(ValueError, match=r"labels in \[0, 2\)|one label in \[0, 2\)"):
        fit_minirocket(model, x, y + 5)


def test_std_floor_bounds_the_head_weights_of_near_constant_features():
    x, y = _two_classes(40)
    weights = {}
    for floor in (0.0, 0.1):
        model = minirocket(input_shape=(64, 1), num_classes=2, num_features=840, steepness=4000.0)
        info = fit_minirocket(model, x, y, std_floor=floor)
        kernel = model.get_layer("head").get_weights()[0]
        weights[floor] = np.abs(kernel).max(0) / np.median(np.abs(kernel), 0)  # largest weight vs a typical one
        assert info["train_accuracy"] == 1.0
    assert np.all(weights[0.1] <= weights[0.0])


def test_multirocket_options_reach_the_features_layer():
    model = minirocket(input_shape=(64, 1), num_classes=2, num_features=168, pooling=("ppv", "mpv"), difference=True)
    layer = model.get_layer("features")
    assert layer.pooling == ("ppv", "mpv") and layer.difference and layer.output_features == 168 * 4
    x, y = _two_classes(30)
    assert fit_minirocket(model, x, y)["train_accuracy"] == 1.0
