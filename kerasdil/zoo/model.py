"""``ZooModel``, the functional model class of the zoo builders (defined in ``kerasdil.layers``)."""

from kerasdil.layers.zoo_model import ZooModel

