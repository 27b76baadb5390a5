"""``ZooModel``: the functional model class of kerasdil's zoo models.

It lives beside the layers, and ``import kerasdil.layers`` registers it with Keras,
so a saved zoo model loads with plain ``keras.models.load_model`` after that one
import. ``kerasdil.zoo.ZooModel`` is the same class.

A plain functional ``keras.Model`` in every respect (config, saving, ``fit``,
``predict``, export), except that eager inference, ``model(x)`` or
``model(x, training=False)`` outside any ``tf.function``, runs the whole network
as one cached graph function on TensorFlow instead of one Keras ``__call__`` per
layer. Keras's per-layer bookkeeping, not arithmetic, is what a batch-1
``model(x)`` spends its time on (tools/bench_mnist.py measures it).
"""

import keras

from kerasdil.layers.conv import _eager_inference


@keras.saving.register_keras_serializable(package="kerasdil")
class ZooModel(keras.Model):
    """A functional ``keras.Model`` whose eager inference is one graph function.

    Build it like ``keras.Model``: ``ZooModel(inputs, outputs, name=...)``.

    The graph function reads the model's variables when it runs, so weights set by
    ``fit``, ``load_weights`` or ``set_weights`` show up at once. Training calls,
    calls inside ``tf.function`` (``fit``, ``predict``, export), mixed precision,
    ``stateless_call`` and the JAX / PyTorch backends run the ordinary functional
    path. ``kerasdil.layers.tensorflow_fast_path(eager_compile=False)`` (or the
    environment variable ``KERASDIL_EAGER_COMPILE=0``) turns the graph function off.

    Example:
        >>> import keras
        >>> inputs = keras.Input((28, 28, 1))
        >>> model = ZooModel(inputs, keras.layers.Flatten()(inputs))
    """

    def call(self, inputs, training=None, mask=None, **kwargs):
        if mask is None and not kwargs:
            outputs = _eager_inference(self, inputs, training)
            if outputs is not None:
                return outputs
        return super().call(inputs, training=training, mask=mask, **kwargs)
