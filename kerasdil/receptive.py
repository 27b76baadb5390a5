"""Receptive field and gridding analysis for stacks of (dilated) convolutions.

Pure Python and numpy: importing this module never imports TensorFlow or Keras,
so ``kerasdil rf`` answers at once. ``layers_from_model`` reads a Keras model
that the caller already built; it only looks at layer attributes.

Geometry
--------
A layer is a :class:`LayerSpec` ``(kernel, stride, dilation)``. Each field is an
int or an ``(h, w)`` pair; the two axes are independent, so the 2-D coverage map
is the outer product of one 1-D coverage per axis.

For one output unit of a stack of layers, the *coverage map* counts, for every
input offset inside the receptive field, how many paths through the taps of
the stack lead from that offset to the output unit. A count of 0 inside the
field is a *hole*: that input pixel never influences the unit. This is the
gridding artefact of dilated convolution (Yu & Koltun 2016; Wang et al. 2018).

Layer ``l`` with kernel ``k``, dilation ``d`` and stride ``s`` reads, from its
input, the offsets ``j * d - ((k - 1) * d) // 2`` for ``j = 0 .. k - 1``. This is
where Keras/TensorFlow ``padding="same"`` puts the taps at stride 1: centred
for odd kernels; for even kernels the extra tap lies after the centre (kernel
2 reads offsets 0 and +1). Offsets of later layers are multiplied by the
product of the strides of the layers before them, so a stride-2 layer doubles
the spacing of every tap above it; the effective stride is the product of all
strides. Padding other than "same" shifts the offsets but changes neither the
size of the field nor its holes.

Upsampling is a fractional stride: a layer with stride ``1/u``
(``fractions.Fraction(1, u)``) makes its output ``u`` times finer, so the taps
of later layers are ``1/u`` as far apart in input pixels. Its kernel is the
number of input pixels one output pixel interpolates from: 1 for nearest
neighbour, 2 for bilinear, 4 for bicubic. Output pixel ``p`` samples input
coordinate ``x = (p + 0.5) / u - 0.5`` (half-pixel centres, as Keras and
``tf.image.resize``) and reads the ``k`` pixels around it: ``floor(x)`` and
``floor(x) + 1`` for bilinear, the pixel containing ``x + 0.5`` for nearest; only
``x`` itself when ``x`` falls exactly on a pixel (every interpolation kernel is
1 there and 0 on the other pixels). Which pixels those are depends on ``p``
modulo ``u``, so a chain that upsamples is not translation invariant: its
output units differ in field by up to a few low-resolution pixels.
:func:`receptive_field` then reports the output unit with the largest field
(``output_position``, taken modulo the period of the pattern); offset 0 is
the input pixel at that unit's position (its index times the effective
stride). Chains without upsampling give every unit the same field.

Path counts are exact: numpy int64 while the total number of paths fits, Python
ints (object arrays) for very deep stacks beyond that.
"""

# The implementation lives in private modules beside this one, one idea each;
# this module is the public face and re-exports their names.
from kerasdil._receptive_core import (  # noqa: F401
    AXES,
    MAX_COVERAGE_CELLS,
    IntOrPair,
    LayerSpec,
    ReceptiveField,
    _as_spec,
    _axis_extent,
    _backward_1d,
    _coverage_1d,
    _coverage_1d_upsampling,
    _is_int,
    _pair,
    _period,
    _schedule,
    _stride_pair,
    _upsampling_taps,
    receptive_field,
)
from kerasdil._receptive_model import layers_from_model, receptive_field_of_model  # noqa: F401
from kerasdil._receptive_plot import format_offsets, plot_coverage  # noqa: F401
from kerasdil._receptive_schedule import (  # noqa: F401
    ScheduleReport,
    analyze_schedule,
    hdc_gridding_free,
    hdc_max_distance,
    is_gridding_free,
)
from kerasdil._receptive_sequence import (  # noqa: F401
    SequenceCoverage,
    analyze_sequence_schedule,
    covers_length,
    schedule_for_length,
)

__all__ = [
    "LayerSpec", "analyze_schedule", "analyze_sequence_schedule", "is_gridding_free", "receptive_field",
    "receptive_field_of_model", "schedule_for_length",
]
