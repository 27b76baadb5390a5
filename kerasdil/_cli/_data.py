"""The ``--data`` flags every verb shares: where the data is and how images or series become model inputs."""

#: Help text of ``--data`` (each verb adds its own default).
DATA_HELP = ("'sample', an mnist .npz or a folder holding mnist.npz; or your own data: a folder of class "
             "subfolders, a folder of images/ and masks/ (+ classes.txt), or tfds:NAME[:CONFIG]; time series: "
             "aeon:NAME, a .ts file, an .npz of x and y, or a folder of .csv class folders")


def add_data_arguments(parser, *, sizes=True):
    """Add the user-data flags (``--data-dir``, ``--image-size``, ``--resize``, ``--channels``,
    ``--validation-split``) to an argparse parser or group; ``sizes=False`` leaves out the two
    that a trained model fixes (image size and channels)."""
    from kerasdil.data.sources import RESIZE_POLICIES

    group = parser.add_argument_group("your own data (image folders, tfds)")
    group.add_argument("--data-dir", default=None, metavar="DIR",
                       help="tensorflow-datasets folder for tfds:NAME (default $TFDS_DATA_DIR, then $KERASDIL_DATA_DIR); "
                            "nothing is downloaded")
    if sizes:
        group.add_argument("--image-size", default=None, metavar="H,W",
                           help="model input size; default the images' (most common) size")
        group.add_argument("--channels", type=int, choices=(1, 3), default=None,
                           help="1 (grayscale) or 3 (RGB); default 1 when every image is grayscale, else 3")
    group.add_argument("--resize", choices=RESIZE_POLICIES, default=None,
                       help="how images of another size are brought to it: pad (keep the aspect ratio, pad with "
                            "zeros; the default), crop (keep it, centre-crop) or stretch")
    group.add_argument("--validation-split", type=float, default=None, metavar="F",
                       help="share of the training images held out for validation when the data has no "
                            "validation split (default 0.2)")
    group.add_argument("--ignore-index", type=int, default=None, metavar="V",
                       help="segmentation: the mask value (0..255, such as 255) left out of training and scoring; "
                            "a classes.txt line 'ignore: 255' says the same")
    add_series_arguments(parser, length=sizes)
    return group


def add_series_arguments(parser, *, length=True):
    """Add the time-series flags (``--series-normalize``, ``--series-unequal``, ``--series-length``; the
    last left out with ``length=False``, where a trained model fixes the steps)."""
    from kerasdil.data.series import NORMALIZATIONS, UNEQUAL_POLICIES

    group = parser.add_argument_group("time series (aeon:NAME, .ts, series .npz, .csv folders)")
    group.add_argument("--series-normalize", choices=NORMALIZATIONS, default=None,
                       help="series: z-normalise each series on its own, per channel; dataset: each channel with the "
                            "training split's mean and deviation; none; auto (the default): series for one channel, "
                            "dataset for several")
    group.add_argument("--series-unequal", choices=UNEQUAL_POLICIES, default=None,
                       help="how series of another length reach the model's: resample (linear interpolation; the "
                            "default) or pad (zeros at the end, and a validity channel the model masks the padding "
                            "with)")
    if length:
        group.add_argument("--series-length", type=int, default=None, metavar="STEPS",
                           help="steps every series is brought to (default the longest training series)")
    return group


def data_options(args):
    """The ``load_data`` options the user gave on the command line (unset flags left out)."""
    from kerasdil.data.sources import _as_size

    options = {}
    if getattr(args, "image_size", None) is not None:
        options["image_size"] = list(_as_size(args.image_size))
    for name in ("channels", "resize", "validation_split", "data_dir", "ignore_index"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    for flag, name in (("series_normalize", "normalize"), ("series_unequal", "unequal"), ("series_length", "length")):
        value = getattr(args, flag, None)
        if value is not None:
            options[name] = value
    return options


def trained_on(model_path):
    """``(data, options)`` of the user data a run folder's ``model.keras`` was trained on, or None.

    Raises:
        ValueError: the run was trained on arrays or a dataset given in Python, which
            cannot be found again (pass ``--data``).
    """
    import json
    import os

    if not str(model_path).endswith(".keras"):
        return None
    folder = os.path.dirname(os.path.abspath(model_path))
    run_path, data_path = os.path.join(folder, "run.json"), os.path.join(folder, "data.json")
    if not (os.path.isfile(run_path) and os.path.isfile(data_path)):
        return None
    with open(run_path) as f:
        run = json.load(f)
    with open(data_path) as f:
        record = json.load(f)
    if record.get("kind") == "in_memory":
        raise ValueError(f"{model_path} was trained on data given in Python ({record.get('source')}), which the "
                         "command line cannot load again; pass --data.")
    options = {k: v for k, v in (run.get("data_options") or {}).items() if k not in ("image_size", "channels")}
    options.setdefault("seed", run.get("seed", 0))
    return record["source"], options


def scored_split(out_dir):
    """What a run's final scores were measured on, in words: "test", or what stood in for a missing test split."""
    import json
    import os

    path = os.path.join(out_dir, "data.json")
    if not os.path.isfile(path):
        return "test"
    with open(path) as f:
        record = json.load(f)
    stand_in = record.get("test_split")
    if not stand_in:
        return "test"
    if "validation" in stand_in:
        return "validation (held back; the data has no test split)"
    from kerasdil.data.checks import example_noun

    return (f"training-{example_noun(record.get('input_shape') or (), plural=False)} "
            "(the data has no validation or test split)")


def examples_of(model):
    """What the model's examples are called in a summary line: "series" or "images"."""
    from kerasdil.data.checks import example_noun

    return example_noun(tuple(model.input_shape)[1:])


def progress_verbosity(quiet):
    """Keras ``fit`` verbosity: a progress bar on a terminal; one plain line per epoch with ``--quiet`` or when
    the output goes to a file or a pipe (where a progress bar's carriage returns pile into one line)."""
    import sys

    interactive = getattr(sys.stdout, "isatty", lambda: False)()
    return 2 if quiet or not interactive else "auto"


def model_class_names(spec, zoo_name=None):
    """The class names a model predicts, in output order: from its run folder's ``data.json``, else the
    data set of zoo entry ``zoo_name`` (MNIST digits, MNIST scenes), else None.

    Args:
        spec: the model argument: a ``.keras`` path or a zoo name with tag.
        zoo_name: the zoo entry, when ``spec`` names one.
    """
    import json
    import os

    if spec.endswith(".keras"):
        record = os.path.join(os.path.dirname(os.path.abspath(spec)), "data.json")
        if os.path.isfile(record):
            with open(record) as f:
                return list(json.load(f).get("class_names") or []) or None
        return None
    if zoo_name is None:
        return None
    from kerasdil.data.scenes import SCENE_CLASS_NAMES
    from kerasdil.zoo import model_info

    info = model_info(zoo_name)
    if info.task == "segmentation" and info.num_classes == len(SCENE_CLASS_NAMES):
        return list(SCENE_CLASS_NAMES)
    if info.task == "classification" and info.num_classes == 10:
        return [str(d) for d in range(10)]  # MNIST's digits
    return None


def classifier_class_options(spec):
    """``{"class_names": [...]}`` for a classifier whose class names are known (so a folder's classes are
    matched to them by name), else ``{}``; ``spec`` is a ``.keras`` path or a zoo name with tag."""
    import json
    import os

    if spec.endswith(".keras"):
        record = os.path.join(os.path.dirname(os.path.abspath(spec)), "data.json")
        if not os.path.isfile(record):
            return {}
        with open(record) as f:
            classifier = json.load(f).get("task") == "classification"
        zoo_name = None
    else:
        from kerasdil.zoo import model_info

        try:
            info = model_info(spec.split(":", 1)[0])
        except ValueError:
            return {}
        classifier, zoo_name = info.task == "classification", info.name
    names = model_class_names(spec, zoo_name) if classifier else None
    return {"class_names": names} if names else {}
