"""Loading models: saved ``.keras`` files (safely) and zoo names.

Export, train, finetune and the CLI read ``.keras`` files through
:func:`load_model` and accept "a model, a zoo name or a file" through
:func:`resolve_model`. Both live here, above the zoo and beside export, so
that the zoo never imports export or this module.
"""

import os

from kerasdil.io import check_keras_archive

__all__ = ["load_model"]


def load_model(path):
    """Load a ``.keras`` file with Keras safe mode on (no Python code is run).

    Args:
        path: a ``.keras`` file written by ``model.save``.

    Returns:
        The uncompiled ``keras.Model``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a ``.keras`` file, refused by safe mode (a Lambda layer or
            other serialized Python code), or not loadable.

    Example:
        >>> from kerasdil.saving import load_model
        >>> model = load_model("runs/mnist/model.keras")  # doctest: +SKIP
    """
    import keras

    import kerasdil.layers  # noqa: F401  (registers the kerasdil layers)
    import kerasdil.zoo.model  # noqa: F401  (and ZooModel, the zoo's model class)

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path} does not exist.")
    if not path.endswith(".keras") or os.path.isdir(path):
        raise ValueError(f"{path} is not a .keras file; save the model with model.save('model.keras').")
    import zipfile

    if not zipfile.is_zipfile(path):  # Keras would answer "File not found" for a file that exists
        raise ValueError(f"{path} is not a .keras archive (a .keras file is a zip written by model.save); "
                         "it may be truncated or another kind of file.")
    check_keras_archive(path)  # a huge config.json is refused before Keras reads it whole
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "safe_mode" in str(e) or "unsafe" in str(e).lower():
            raise ValueError(
                f"{path} was refused by Keras safe mode (it holds serialized Python code, such as a Lambda "
                f"layer), which export never runs: {text}"
            ) from None
        raise ValueError(f"cannot load {path} as a Keras model: {text}") from None


def resolve_model(model, what="model", expect_trained=False):
    """A Keras model from a model, a zoo name (with tag: ``"mnist_dsdc:mnist"``) or a
    ``.keras`` file (loaded in safe mode, uncompiled).

    Args:
        model: the model, name or path.
        what: how error messages name the argument.
        expect_trained: warn (``UntrainedModelWarning``) when ``model`` is a zoo name
            without a weights tag.

    Returns:
        A ``keras.Model``.

    Raises:
        ValueError: a missing file, an unknown name, or something that is not a model.

    Example:
        >>> from kerasdil.saving import resolve_model
        >>> teacher = resolve_model("mnist_dsdc:mnist", "teacher", expect_trained=True)
    """
    if isinstance(model, str):
        if model.endswith(".keras") or os.path.sep in model:
            if not os.path.isfile(model):
                raise ValueError(f"{what} model file {model!r} does not exist.")
            return load_model(model)  # safe mode, one-sentence errors
        from kerasdil.zoo.registry import create_model, warn_if_untrained

        if expect_trained:
            warn_if_untrained(model, what)
        return create_model(model)
    if not hasattr(model, "layers") or not hasattr(model, "weights"):
        raise ValueError(f"{what} must be a Keras model or a zoo name such as 'mnist_dsdc:mnist', got {model!r}.")
    return model
