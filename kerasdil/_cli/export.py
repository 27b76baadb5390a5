"""``kerasdil export``: a .keras model (or a zoo model) to SavedModel / TFLite / ONNX, with proof.

Prints the report's markdown table; exits 1 when a check failed (forbidden op,
dilated conv not native, parity or metric over its threshold) after writing the
report, and 2 for a usage mistake.
"""

import os
import sys

from kerasdil._cli import _quiet


def add_arguments(parser):
    """Add the ``export`` arguments to an argparse (sub)parser."""
    parser.add_argument("model", help="a .keras file (loaded in safe mode) or a zoo name such as mnist_dsdc:mnist")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder for the artifacts and the report")
    parser.add_argument(
        "--format",
        default="savedmodel,tflite,onnx",
        metavar="F[,F]",
        help="any of savedmodel, tflite, onnx, comma-separated (default all three)",
    )
    parser.add_argument(
        "--quantize",
        default="float32",
        metavar="Q[,Q]",
        help="TFLite variants: float32, float16, dynamic, int8, comma-separated (default float32)",
    )
    parser.add_argument("--int8-io", action="store_true", help="int8 TFLite takes int8 input and gives int8 output")
    parser.add_argument(
        "--int8-per-tensor",
        action="store_true",
        help="int8 weight scales per tensor instead of per channel (smaller file; check the metric drop)",
    )
    parser.add_argument(
        "--keep-names",
        action="store_true",
        help="keep the internal tensor names in the TFLite files (default: stripped, input and output names kept; "
        "names are for debugging only and cost several percent of a small model's file)",
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="SOURCE",
        help="where the model's own data set comes from: 'sample' (embedded), a folder or a data file "
        "(default: the usual search, $KERASDIL_DATA_DIR first); or your own data, a folder of class subfolders, "
        "of images/ and masks/, or tfds:NAME[:CONFIG]: int8 calibration from its training images, proof on its "
        "test images (default for a run folder's model.keras trained on your own data: that data)",
    )
    parser.add_argument(
        "--representative",
        default=None,
        metavar="FILE.npy",
        help="int8 calibration inputs, float32 (N, H, W, C) in .npy (or .npz key 'x'), instead of the own data",
    )
    parser.add_argument(
        "--test-data",
        default=None,
        metavar="FILE.npz",
        help="proof samples: .npz with 'x' (N, H, W, C) and optional 'y' labels, instead of the own data",
    )
    parser.add_argument("--input-shape", default=None, metavar="H,W,C", help="static input shape for models built without one")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--samples", type=int, default=None, metavar="N", help="use at most N test samples for proof")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N", help="larger batch for throughput (default 64)")
    parser.add_argument("--repeats", type=int, default=30, metavar="N", help="timed calls per runtime; 0 skips latency")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="LiteRT / onnxruntime threads (default all cores)")
    parser.add_argument("--force", action="store_true", help="overwrite artifacts that already exist")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of markdown")
    from kerasdil._cli._data import add_data_arguments

    add_data_arguments(parser, sizes=False)  # the model fixes the image size and channels


def _read_array(path, what, keys):
    import numpy as np

    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} file {path} does not exist.")
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as e:
        if "pickle" in str(e).lower():  # numpy's own text would invite allow_pickle, which runs the file's code
            raise ValueError(f"{what} file {path} is not a .npy / .npz of plain arrays (another kind of file, or "
                             "pickled objects); save the arrays with numpy.save or numpy.savez.") from None
        raise ValueError(f"cannot read {what} file {path} as .npy / .npz: {e}") from None
    if isinstance(loaded, np.ndarray):
        return {keys[0]: loaded}
    with loaded:
        arrays = {k: loaded[k] for k in loaded.files}
    if keys[0] not in arrays:
        if len(arrays) == 1:
            return {keys[0]: next(iter(arrays.values()))}
        raise ValueError(f"{what} file {path} has no array {keys[0]!r} (it has {', '.join(sorted(arrays)) or 'none'}).")
    return arrays


def _parse_shape(text):
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"--input-shape must be three positive integers such as 64,84,1, got {text!r}.")
    return shape


def run(args):
    """Run ``kerasdil export``; returns the exit code."""
    from kerasdil._cli._data import classifier_class_options, data_options, trained_on
    from kerasdil.export import export

    for name in ("samples", "batch_size", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be 1 or more, got {value}.")
    if args.repeats < 0:
        raise ValueError(f"--repeats must be 0 or more, got {args.repeats}.")
    representative = None
    if args.representative:
        representative = _read_array(args.representative, "representative data", ("x",))["x"]
    test_data = None
    if args.test_data:
        arrays = _read_array(args.test_data, "test data", ("x", "y"))
        test_data = (arrays["x"], arrays.get("y"))
    data, options = args.data, data_options(args)
    if data is None and representative is None and test_data is None:
        found = trained_on(args.model)  # a model trained on the user's own data: that data, not MNIST
        if found is not None:
            data, options = found[0], {**found[1], **options}
    from kerasdil.data.sources import is_user_data

    if is_user_data(data):
        options.update(classifier_class_options(args.model))  # a folder's classes matched to the model's by name
    # The converters report their progress on stderr: captured unless --verbose, shown if the export fails.
    with _quiet.captured_stderr(enabled=not getattr(args, "cli_verbose", False)):
        report = export(
            args.model,
            args.out,
            formats=args.format,
            quantize=args.quantize,
            representative_data=representative,
            input_shape=_parse_shape(args.input_shape),
            test_data=test_data,
            data=data,
            int8_io=args.int8_io,
            int8_per_channel=not args.int8_per_tensor,
            strip_names=not args.keep_names,
            opset=args.opset,
            force=args.force,
            max_samples=args.samples,
            batch_size=args.batch_size,
            latency_repeats=args.repeats,
            num_threads=args.threads,
            data_options=options or None,
        )
    print(report.to_json() if args.json else report.to_markdown())
    if not report.passed:
        print(
            "kerasdil export: check failed: " + "; ".join(report.failures)
            + f" (report in {os.path.join(report.out_dir, 'export_report.md')})",
            file=sys.stderr,
        )
        return 1
    return 0
