"""Argument checks shared by kerasdil layers: one clear ValueError per mistake."""


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def pair(layer, arg, value, *, minimum=1):
    """Return ``value`` as an (h, w) tuple of ints >= ``minimum`` or raise ValueError."""
    if _is_int(value):
        out = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        out = tuple(value)
    else:
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
