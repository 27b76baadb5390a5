"""keras_io_convnet: keras.io's "Simple MNIST convnet", the peer baseline, built as its authors wrote it."""

import keras
from keras import layers

from kerasdil.zoo.weights_io import load_weights


def keras_io_convnet(input_shape=(28, 28, 1), num_classes=10, weights=None, name="keras_io_convnet"):
    """keras.io's "Simple MNIST convnet" example, layer for layer (34,826 params).

    Conv2D(32, 3, relu), MaxPooling2D(2), Conv2D(64, 3, relu), MaxPooling2D(2),
    Flatten, Dropout(0.5), Dense(num_classes, softmax). Inputs in [0, 1].

    Example:
        >>> keras_io_convnet().count_params()
        34826
    """
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape, name="image"),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu", name="conv1"),
            layers.MaxPooling2D(pool_size=(2, 2), name="pool1"),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu", name="conv2"),
            layers.MaxPooling2D(pool_size=(2, 2), name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.5, name="dropout"),
            layers.Dense(num_classes, activation="softmax", name="classifier"),
        ],
        name=name,
    )
    config = dict(input_shape=list(input_shape), num_classes=num_classes)
    return load_weights(model, weights, model_name="keras_io_convnet", config=config)
