"""kerasdil: dilated and depthwise-separable dilated (DSDC) convolution for Keras 3.

Importing ``kerasdil`` is cheap: TensorFlow and Keras are imported only by the
submodules that need them (``kerasdil.layers``, ``kerasdil.zoo``'s builders,
...), so the pure-Python parts such as ``kerasdil.receptive`` and the zoo's
registry answer instantly. It also registers kerasdil's Keras classes on first
Keras use, so ``import kerasdil; keras.models.load_model("model.keras")`` loads
a saved zoo model.

The public API lives in the subpackages: :mod:`kerasdil.layers`,
:mod:`kerasdil.backbones`, :mod:`kerasdil.zoo`, :mod:`kerasdil.data`,
:mod:`kerasdil.train`, :mod:`kerasdil.finetune`, :mod:`kerasdil.tune`,
:mod:`kerasdil.export`, :mod:`kerasdil.receptive`.
"""

from kerasdil._registration import register_on_keras_import as _register_on_keras_import

__version__ = "0.1.0"

_register_on_keras_import()

__all__ = ["__version__"]
