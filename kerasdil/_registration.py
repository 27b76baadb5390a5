"""Registering kerasdil's serializable classes with Keras, without importing Keras early.

``import kerasdil`` must stay light (``kerasdil rf`` and ``kerasdil zoo list``
answer without TensorFlow), yet after it a saved zoo model must load with plain
``keras.models.load_model``. So registration happens on first Keras use: if Keras
is already imported, at once; otherwise a finder on ``sys.meta_path`` waits for
the ``import keras`` that comes later and, once Keras has finished importing,
imports ``kerasdil.layers`` (whose import registers every kerasdil layer, the
zoo's model class, losses and optimizers).
"""

import importlib.abc
import importlib.util
import sys
import warnings


def register():
    """Import ``kerasdil.layers``, which registers every serializable kerasdil class with Keras."""
    try:
        import kerasdil.layers  # noqa: F401
    except Exception as e:  # never break the user's `import keras`
        warnings.warn(f"kerasdil could not register its Keras classes ({type(e).__name__}: {e}); "
                      "import kerasdil.layers before loading a kerasdil model.", RuntimeWarning, stacklevel=2)


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of ``keras`` so that :func:`register` runs after it."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            register()

        spec.loader.exec_module = exec_then_register
        return spec


def register_on_keras_import():
    """Register now if Keras is imported, else as soon as it is."""
    if "keras" in sys.modules:
        register()
    elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterKeras())
