"""Data pipelines for kerasdil (``tf.data``): MNIST, MNIST scenes, and your own data
(:func:`load_data`: image folders, mask folders, tensorflow-datasets, arrays).

Importing this package is light (numpy only); TensorFlow is imported when a
pipeline is built.

Example:
    >>> from kerasdil.data import mnist, describe_source
    >>> print(describe_source())              # where MNIST will come from
    >>> train = mnist("train", augment=True, validation_size=5000)
    >>> val = mnist("validation", validation_size=5000)
"""

from ._common import DATA_DIR_ENV, SampleDataWarning, benchmark_pipeline, repeat_epochs
from .mnist import (
    AUGMENTATION,
    IMAGE_SHAPE,
    MNIST_KEYS,
    NORMALIZATION,
    NUM_CLASSES,
    SPLITS,
    MnistArrays,
    Normalization,
    augment_batch,
    augmentation_settings,
    describe_source,
    load_mnist_arrays,
    mnist,
    normalize,
    split_arrays,
)
from .scenes import (
    CANVAS_SIZE,
    SCENE_CLASS_NAMES,
    SCENE_NUM_CLASSES,
    SceneConfig,
    ScenesArrays,
    check_segmentation_arrays,
    load_scenes_arrays,
    make_scenes,
    mnist_scenes,
    segmentation_dataset,
)
from .digits import few_shot_split, load_digits_arrays
from .sources import DataSpec, UserDataWarning, is_user_data, load_data

from .corrupt import (
    CORRUPTION_PARAMETERS,
    CORRUPTIONS,
    SEVERITIES,
    corrupt,
    describe_corruption,
    iter_corruptions,
    resolve_corruptions,
    resolve_severities,
)

# What users call. The other names imported above stay importable from here (constants, array types,
# the scene generator, the checks that the pipelines run).
__all__ = [
    "AUGMENTATION", "DataSpec", "MnistArrays", "SampleDataWarning", "augmentation_settings",
    "benchmark_pipeline", "corrupt", "describe_corruption", "describe_source", "few_shot_split", "load_data",
    "load_digits_arrays", "load_mnist_arrays", "load_scenes_arrays", "mnist", "mnist_scenes", "normalize",
    "repeat_epochs", "resolve_corruptions", "resolve_severities",
]
