"""The record of the minirocket zoo entry (plain Python, no Keras import)."""

from kerasdil.zoo.record import ZooRecord

#: GunPoint's shape: 150 steps, one channel; two classes.
MINIROCKET_INPUT_SHAPE = (150, 1)

MINIROCKET_RECORD = ZooRecord(
    name="minirocket",
    family="series",
    input_shape=MINIROCKET_INPUT_SHAPE,
    num_classes=2,
    description="MiniRocket's 84 fixed dilated 1D kernels (PPV features) with a closed-form ridge head",
    # Nothing is trained by gradient: fit_minirocket adapts the biases and solves the head.
    # The recipe is the one for a trained head (fit_minirocket(head="trained")).
    training_recipe=dict(epochs=200, batch_size=32, weight_decay=0.0, augment=False, validation_size=0),
)

RECORDS = (MINIROCKET_RECORD,)
