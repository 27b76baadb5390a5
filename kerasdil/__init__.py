"""kerasdil: dilated and depthwise-separable dilated (DSDC) convolution for Keras 3.

Importing ``kerasdil`` is cheap: TensorFlow and Keras are imported only by the
submodules that need them (``kerasdil.layers``, ``kerasdil.zoo``, ...), so the
pure-Python parts such as ``kerasdil.receptive`` answer instantly.
"""

__version__ = "0.1.0"
