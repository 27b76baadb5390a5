"""Argument checks shared by kerasdil layers: one clear ValueError per mistake."""

from kerasdil._receptive_core import int_pair


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def pair(layer, arg, value, *, minimum=1):
    """Return ``value`` as an (h, w) tuple of ints >= ``minimum`` or raise ValueError."""
    out = int_pair(value, _is_int)
    if out is None:
        raise ValueError(
            f"{layer}: `{arg}` must be an int or a pair of ints, got {value!r}."
        )
    if min(out) < minimum:
        raise ValueError(f"{layer}: `{arg}` must be >= {minimum}, got {value!r}.")
    return out


def odd_kernel(layer, value):
    k = pair(layer, "kernel_size", value)
    if k[0] % 2 == 0 or k[1] % 2 == 0:
        raise ValueError(
            f"{layer}: `kernel_size` must be odd so that 'same' padding is symmetric, got {value!r}."
        )
    return k


def positive_int(layer, arg, value):
    if not _is_int(value) or value < 1:
        raise ValueError(f"{layer}: `{arg}` must be a positive int, got {value!r}.")
    return value


def block_filters(layer, filters, schedule):
    """``filters`` of a stack of ``len(schedule)`` blocks: one positive int, or a tuple of one per block."""
    if not isinstance(filters, (list, tuple)):
        return positive_int(layer, "filters", filters)
    if len(filters) != len(schedule):
        raise ValueError(
            f"{layer}: `filters` has {len(filters)} entries but `dilation_schedule` has {len(schedule)} blocks, "
            f"got filters={filters!r}; give one int, or one per block."
        )
    return tuple(positive_int(layer, "filters", f) for f in filters)


def padding(layer, value):
    if not isinstance(value, str) or value.lower() not in ("same", "valid"):
        raise ValueError(f"{layer}: `padding` must be 'same' or 'valid', got {value!r}.")
    return value.lower()


def stride_dilation(layer, strides, dilation_rate):
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(
            f"{layer}: `strides` > 1 together with `dilation_rate` > 1 is not supported "
            f"(got strides={strides}, dilation_rate={dilation_rate}); use one or the other."
        )


def dilation_schedule(layer, value):
    """A non-empty sequence of positive ints or (h, w) pairs."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ValueError(
            f"{layer}: `dilation_schedule` must be a sequence such as (1, 2, 5), got {value!r}."
        )
    if len(value) == 0:
        raise ValueError(f"{layer}: `dilation_schedule` must not be empty, got {value!r}.")
    out = []
    for r in value:
        try:
            out.append(pair(layer, "dilation_schedule", r))
        except ValueError:
            raise ValueError(
                f"{layer}: every rate in `dilation_schedule` must be a positive int or pair, "
                f"got {r!r} in {tuple(value)!r}."
            ) from None
    return tuple(r[0] if r[0] == r[1] else r for r in out)


def conv_output_length(length, kernel, stride, dilation, padding):
    """Spatial output length of a convolution (None stays None)."""
    if length is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if padding == "same":
        return -(-length // stride)
    return max(0, (length - effective) // stride + 1)


def input_channels(layer, built, input_shape):
    """Raise a ValueError naming ``layer`` when ``input_shape``'s channels differ from ``built``.

    TensorFlow runs a conv whose kernel was made for C channels on a multiple of C
    channels as a grouped conv, silently; a plain Keras ``Conv2D`` refuses. So do we.
    """
    got = input_shape[-1]
    if built is not None and got is not None and int(got) != int(built):
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) was built for inputs with {int(built)} channels but "
            f"got {int(got)} (input shape {tuple(input_shape)}); feed {int(built)}-channel images, or build the "
            f"model for {int(got)} channels (input_shape)."
        )


def dilation_fits(layer, input_shape, kernel_size, dilation_rate, padding):
    """Say so when ``dilation_rate`` reaches past the input: a warning, or for 'valid' padding an error.

    With 'same' padding and a dilation at least the input's size, every tap but the
    centre reads padding at every position: the layer is a 1x1 conv in disguise.
    """
    import warnings

    too_far = []
    for axis, (size, k, d) in enumerate(zip(tuple(input_shape)[1:3], kernel_size, dilation_rate)):
        if span_reaches_past(layer, size, k, d, padding, f"pixels, more than the input's {size} along axis {axis + 1}"):
            too_far.append((d, size))
    if len(too_far) == 2:
        d, size = too_far[0]
        warnings.warn(
            f"layer {layer.name!r} ({type(layer).__name__}): dilation_rate {d} is not smaller than the input's "
            f"{size} pixels, so every tap but the centre reads zero padding and the layer acts as a 1x1 "
            f"convolution; use a dilation_rate below {size}.",
            stacklevel=3,
        )
    elif too_far:
        d, size = too_far[0]
        warnings.warn(
            f"layer {layer.name!r} ({type(layer).__name__}): dilation_rate {d} is not smaller than the input's "
            f"{size} pixels along one axis, so along it every tap but the centre reads zero padding; use a "
            f"dilation_rate below {size}.",
            stacklevel=3,
        )


def span_reaches_past(layer, size, kernel, dilation, padding, what):
    """Whether a dilated kernel's taps reach past an input of ``size`` along one axis ('same' or 'causal' padding).

    A 'valid' kernel that spans more than ``size`` leaves no output: ValueError, whose
    sentence says ``{span} {what}`` (e.g. "pixels, more than the input's 7 along axis 1").
    """
    if size is None or kernel == 1 or dilation == 1:
        return False
    span = (kernel - 1) * dilation + 1
    if padding == "valid" and span > size:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}): kernel {kernel} with dilation_rate {dilation} spans "
            f"{span} {what}, so 'valid' padding leaves no output; use a dilation_rate of at most "
            f"{max(1, (size - 1) // (kernel - 1))} or padding='same'."
        )
    return padding != "valid" and dilation >= size


def input_shape_divisible(name, input_shape, output_stride):
    """``input_shape`` as a tuple, checked to be (H, W, C) with H and W multiples of ``output_stride``."""
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in input_shape)
    ):
        raise ValueError(
            f"{name}: `input_shape` must be (height, width, channels) with known positive sizes, "
            f"got {input_shape!r}."
        )
    h, w, _ = input_shape
    if h % output_stride or w % output_stride:
        smaller = (h // output_stride * output_stride, w // output_stride * output_stride)
        raise ValueError(
            f"{name}: input size {h}x{w} is not divisible by the output stride {output_stride}; "
            f"use height and width that are multiples of {output_stride} (e.g. {smaller[0]}x{smaller[1]}) "
            "or a smaller output_stride."
        )
    return tuple(input_shape)


def class_count(layer, value):
    """``num_classes`` of a softmax head: an int >= 2 (one logit under a softmax always predicts its class)."""
    positive_int(layer, "num_classes", value)
    if value < 2:
        raise ValueError(
            f"{layer}: `num_classes` must be 2 or more, got {value!r}: a softmax over one class predicts that class "
            "for every pixel; for foreground against background use num_classes=2."
        )
    return value
