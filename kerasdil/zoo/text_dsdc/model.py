"""The text_dsdc builder: Embedding, residual 1D DSDC blocks over the word vectors, pooling, dense."""

import keras
from keras import layers

from kerasdil.layers import DilationStack1D
from kerasdil.layers import _validate as V
from kerasdil.receptive import schedule_for_length
from kerasdil.zoo.model import ZooModel
from kerasdil.zoo.weights_io import load_weights


def text_dsdc(
    sequence_length=128,
    vocabulary_size=20000,
    num_classes=2,
    embedding_dim=64,
    dilation_schedule=None,
    width=64,
    kernel_size=3,
    dropout=0.2,
    pooling="max",
    weights=None,
    classifier_activation="softmax",
    name="text_dsdc",
):
    """A text classifier: token ids -> ``Embedding`` -> ``DilationStack1D`` of DSDC blocks -> pooling -> dense.

    Depthwise-separable dilated convolutions over word vectors: each block mixes
    words ``dilation`` apart, so a few blocks see a whole sentence at a fraction of
    the parameters of a plain Conv1D or LSTM. Token id 0 is padding (what
    ``keras.layers.TextVectorization`` emits).

    Args:
        sequence_length: tokens per example.
        vocabulary_size: token ids are in ``[0, vocabulary_size)``.
        num_classes: classes.
        embedding_dim: size of the word vectors.
        dilation_schedule: rates of the blocks; default the doubling schedule
            whose receptive field covers ``sequence_length``.
        width: channels of every DSDC block.
        kernel_size: odd depthwise kernel. Default 3.
        dropout: after the embedding and before the head.
        pooling: "max" (default; the strongest n-gram of each channel) or "average".
        weights: None or a weights path.
        classifier_activation: "softmax" or None for logits.
        name: model name.

    Returns:
        A ``ZooModel`` taking int token ids ``(batch, sequence_length)``.

    Raises:
        ValueError: a bad argument, naming it.

    Example:
        >>> vectorize = keras.layers.TextVectorization(20000, output_sequence_length=128)
        >>> model = text_dsdc(sequence_length=128, vocabulary_size=20000, num_classes=2)
    """
    for arg, value in (("sequence_length", sequence_length), ("vocabulary_size", vocabulary_size),
                       ("num_classes", num_classes), ("embedding_dim", embedding_dim), ("width", width)):
        V.positive_int(name, arg, value)
    if pooling not in ("max", "average"):
        raise ValueError(f"{name}: `pooling` must be 'max' or 'average', got {pooling!r}.")
    if dilation_schedule is None:
        dilation_schedule = schedule_for_length(sequence_length, kernel=kernel_size, max_blocks=6)
    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    x = layers.Embedding(vocabulary_size, embedding_dim, name="embedding")(inputs)
    if dropout:
        x = layers.SpatialDropout1D(dropout, name="embedding_dropout")(x)
    x = DilationStack1D(dilation_schedule, width, kernel_size=kernel_size, name="stage1")(x)
    pool = layers.GlobalMaxPooling1D if pooling == "max" else layers.GlobalAveragePooling1D
    x = pool(name="pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation=classifier_activation, name="classifier")(x)
    model = ZooModel(inputs, outputs, name=name)
    config = dict(sequence_length=sequence_length, vocabulary_size=vocabulary_size, num_classes=num_classes,
                  embedding_dim=embedding_dim, dilation_schedule=list(model.get_layer("stage1").dilation_schedule),
                  width=width)
    return load_weights(model, weights, model_name="text_dsdc", config=config)
