"""``kerasdil rf``: receptive field and gridding analysis of a dilation schedule.

Imports only kerasdil.receptive (numpy), never TensorFlow, so it answers at once.
matplotlib is imported only for ``--plot``.
"""

import json
import re

# Wider than this, the ASCII strip would wrap in a terminal; --plot draws any size.
_ASCII_MAX = 121


def add_arguments(parser):
    """Add the ``rf`` arguments to an argparse (sub)parser."""
    parser.add_argument(
        "schedule",
        nargs="+",
        help='dilation rates from input to output, as "1,2,5" or "1 2 5"',
    )
    parser.add_argument(
        "--kernel",
        default="3",
        help='kernel size of every layer: "3" or "HxW" such as "3x5" (default 3)',
    )
    parser.add_argument(
        "--stride-at",
        default=None,
        metavar="I[:S],...",
        help="give layer I (1-based) stride S (default 2), e.g. --stride-at 1 or --stride-at 1:2,3:2",
    )
    parser.add_argument("--length", type=int, default=None, metavar="STEPS",
                        help="analyse a 1-D (sequence) schedule and say whether its receptive field covers a "
                             "series of this many steps")
    parser.add_argument("--plot", default=None, metavar="OUT.png", help="draw the 2-D coverage map to this file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def parse_schedule(words):
    """Turn ``["1,2,5"]`` or ``["1", "2", "5"]`` into a tuple of ints (ValueError on junk)."""
    text = " ".join(words)
    items = [w for w in re.split(r"[,\s]+", text.strip()) if w]
    try:
        return tuple(int(w) for w in items)
    except ValueError:
        raise ValueError(
            f"dilation schedule must be whole numbers separated by commas or spaces, such as 1,2,5; got {text!r}."
        ) from None


def parse_kernel(text):
    """``"3"`` -> 3, ``"3x5"`` -> (3, 5)."""
    parts = re.split(r"[x,]", text.strip().lower())
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise ValueError(f"--kernel must be a size such as 3 or 3x5, got {text!r}.")
    return values[0] if len(values) == 1 else tuple(values)


def parse_stride_at(text, n_layers):
    """``"1:2,3"`` -> per-layer strides (1-based positions, default stride 2)."""
    strides = [1] * n_layers
    if text is None:
        return tuple(strides)
    for item in (w for w in re.split(r"[,\s]+", text.strip()) if w):
        position, _, stride = item.partition(":")
        try:
            position = int(position)
            stride = int(stride) if stride else 2
        except ValueError:
            raise ValueError(f"--stride-at takes positions such as 1 or 1:2,3:2, got {text!r}.") from None
        if not 1 <= position <= n_layers:
            raise ValueError(
                f"--stride-at position {position} is outside the schedule's {n_layers} layers (1..{n_layers})."
            )
        if stride < 1:
            raise ValueError(f"--stride-at stride must be 1 or more, got {stride} for layer {position}.")
        strides[position - 1] = stride
    return tuple(strides)


def _ascii(cov, origin):
    line = "".join("#" if v else "." for v in cov)
    marker = " " * origin + "^"
    return line, marker


def format_report(report):
    """The human-readable report printed by ``kerasdil rf``."""
    from kerasdil.receptive import AXES, format_offsets

    rf = report.receptive_field
    kh, kw = report.kernel
    rates = ", ".join(map(str, report.dilation_schedule))
    head = f"dilation schedule  {rates}  ({kh}x{kw} kernels"
    if any(s > 1 for s in report.strides):
        head += ", strides " + ", ".join(map(str, report.strides))
    lines = [head + ")"]
    lines.append(f"receptive field    {rf.size[0]} x {rf.size[1]}")
    lines.append(f"effective stride   {rf.stride[0]} x {rf.stride[1]}")
    verdict = "gridding-free" if rf.gridding_free else "GRIDDING"
    lines.append(
        f"coverage           {rf.touched} of {rf.total} offsets reach the output unit, "
        f"{rf.holes} holes: {verdict}"
    )
    same_axes = list(rf.axis_coverage[0]) == list(rf.axis_coverage[1]) and rf.origin[0] == rf.origin[1]
    axes = [(None, 0)] if same_axes else [(AXES[0], 0), (AXES[1], 1)]
    for label, a in axes:
        holes = rf.axis_hole_offsets(a)
        text = "none" if not holes else f"at offsets {format_offsets(holes)}"
        name = "holes" if label is None else f"holes ({label})"
        lines.append(f"{name:<19}{text}" + (" (per axis, rows and columns alike)" if holes and label is None else ""))
    if report.hdc_gridding_free is None:
        lines.append("HDC rule           not applicable")
    else:
        m = report.max_distance
        values = ", ".join(f"M_{i}={v}" for i, v in enumerate(m, start=1))
        hdc = "gridding-free" if report.hdc_gridding_free else "GRIDDING"
        why = "M_1 = 1" if report.hdc_gridding_free else f"M_1 = {m[0]} > 1"
        if len(m) > 1 and report.hdc_order[0] == 1:
            # M_1 = 1 is the paper's M_2 <= K once r_1 = 1; show the paper's form.
            why = f"M_2 = {m[1]} {'<=' if m[1] <= 3 else '>'} K = 3"
        lines.append(f"HDC max distance   {values}")
        lines.append(f"HDC rule           {hdc} ({why})")
        lines.append(
            "verdicts           "
            + ("HDC and coverage agree" if report.agree else "HDC and coverage DISAGREE: trust the coverage map")
        )
    for note in report.notes:
        lines.append(f"note: {note}")
    for label, a in axes:
        cov = rf.axis_coverage[a]
        offsets = rf.offsets(a)
        title = "1-D coverage" + ("" if label is None else f" ({label})")
        span = f"offsets {int(offsets[0]):+d}..{int(offsets[-1]):+d}"
        if cov.size > _ASCII_MAX:
            lines.append(f"{title}, {span}: too wide to draw here; use --plot")
            continue
        strip, marker = _ascii(cov, rf.origin[a])
        lines.append("")
        lines.append(f"{title}, {span} (# reaches the output, . hole, ^ offset 0):")
        lines.append("  " + strip)
        lines.append("  " + marker)
    return "\n".join(lines)


def format_sequence_report(report):
    """The report of ``kerasdil rf SCHEDULE --length STEPS`` (a 1-D schedule)."""
    from kerasdil.receptive import format_offsets, schedule_for_length

    rates = ", ".join(map(str, report.dilation_schedule))
    holes = "none" if not report.hole_offsets else f"at offsets {format_offsets(report.hole_offsets)}"
    lines = [
        f"dilation schedule  {rates}  (1-D, kernel {report.kernel})",
        f"receptive field    {report.receptive_field} steps",
        f"coverage           {'gridding-free' if report.gridding_free else 'GRIDDING'}; holes {holes}",
    ]
    if report.covers:
        lines.append(f"series length      {report.length}: covered ({report.receptive_field} >= {report.length})")
    else:
        fix = schedule_for_length(report.length, kernel=report.kernel, max_blocks=32)
        lines.append(f"series length      {report.length}: NOT covered ({report.receptive_field} < {report.length}); "
                     f"a schedule that covers it: {','.join(map(str, fix))}")
    return "\n".join(lines)


def _run_sequence(args, schedule):
    from kerasdil.receptive import analyze_sequence_schedule

    if args.stride_at or args.plot:
        raise ValueError("--length analyses a 1-D schedule at stride 1; leave out --stride-at and --plot.")
    kernel = parse_kernel(args.kernel)
    if isinstance(kernel, tuple):
        raise ValueError(f"--length analyses a 1-D schedule: give --kernel one size such as 3, not {args.kernel!r}.")
    report = analyze_sequence_schedule(schedule, length=args.length, kernel=kernel)
    print(_json_lines(report.to_dict()) if args.json else format_sequence_report(report))
    return 0


def _json_lines(out):
    # one key per line, values compact: readable and still plain JSON
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()) + "\n}"


def run(args):
    """Run ``kerasdil rf``; returns the exit code."""
    from kerasdil.receptive import analyze_schedule, plot_coverage

    schedule = parse_schedule(args.schedule)
    if getattr(args, "length", None) is not None:
        return _run_sequence(args, schedule)
    kernel = parse_kernel(args.kernel)
    strides = parse_stride_at(args.stride_at, len(schedule)) if schedule else None
    report = analyze_schedule(schedule, kernel=kernel, strides=strides)
    if args.plot:
        plot_coverage(report.receptive_field, args.plot)
    if args.json:
        out = report.to_dict()
        if args.plot:
            out["plot"] = args.plot
        print(_json_lines(out))
    else:
        print(format_report(report))
        if args.plot:
            print(f"\ncoverage map written to {args.plot}")
    return 0
