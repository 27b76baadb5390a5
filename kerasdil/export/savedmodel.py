"""SavedModel with a named serving signature, and a runner that serves from it.

``tf.saved_model.save`` of a module tracking the Keras model, with one signature,
``serving_default``, taking ``{<input name>: float32 (batch, H, W, C)}`` (dynamic
batch) and returning ``{"output": ...}``. Load it anywhere TensorFlow runs:

    >>> import tensorflow as tf
    >>> serve = tf.saved_model.load("out/saved_model").signatures["serving_default"]
    >>> probs = serve(image=tf.constant(x))["output"]
"""

import os

import numpy as np

from kerasdil.export.errors import ExportError

SIGNATURE = "serving_default"
OUTPUT_KEY = "output"


def save(model, serving_function, path):
    """Write ``model`` as a SavedModel at ``path`` with ``serving_function`` as signature.

    Raises:
        ExportError: TensorFlow could not save the model.
    """
    import tensorflow as tf

    module = tf.Module()
    module.model = model  # tracks every variable
    try:
        tf.saved_model.save(module, os.fspath(path), signatures={SIGNATURE: serving_function})
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:
        raise ExportError(f"SavedModel export failed: {type(e).__name__}: {e}") from None


class SavedModelRunner:
    """Serve from a SavedModel folder through its ``serving_default`` signature."""

    runtime = "tf_savedmodel"

    def __init__(self, path, signature=SIGNATURE):
        import tensorflow as tf

        self._tf = tf
        self.loaded = tf.saved_model.load(os.fspath(path))
        if signature not in self.loaded.signatures:
            raise ExportError(f"SavedModel {path} has no signature {signature!r}.")
        self.function = self.loaded.signatures[signature]
        _, kwargs = self.function.structured_input_signature
        (self.input_name,) = kwargs
        self.output_key = OUTPUT_KEY if OUTPUT_KEY in self.function.structured_outputs else next(
            iter(self.function.structured_outputs)
        )

    def _run(self, x):
        return self.function(**{self.input_name: x})[self.output_key].numpy()

    def batch_fn(self, x):
        t = self._tf.constant(x, dtype=self._tf.float32)
        return (lambda: self._run(t)), None

    def predict(self, x, batch_size=64):
        x = np.asarray(x, dtype=np.float32)
        return np.concatenate(
            [self._run(self._tf.constant(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        )
