"""`kerasdil evaluate MODEL --data ...`"""


from kerasdil._cli._data import (
    DATA_HELP,
    add_data_arguments,
    data_options,
    model_class_names,
    progress_verbosity,
    scored_split,
    trained_on,
)


def add_arguments(p):
    p.add_argument("model", help="a .keras file, or a zoo name with pretrained tag such as mnist_dsdc:mnist")
    p.add_argument("--data", default=None,
                   help=DATA_HELP + "; your own data is evaluated whole, or its test/ folder (default: the data the "
                        "run folder's model was trained on, its test split; else MNIST's search order)")
    p.add_argument("--out", default=None, help="folder for eval_metrics.json and eval_* plots (default: next to the model, or runs/eval-<name>)")
    p.add_argument("--batch-size", type=int, default=256, metavar="N",
                   help="images or series per prediction batch (default 256)")
    p.add_argument("--limit", type=int, default=None, help="evaluate on the first N test images or series only")
    add_data_arguments(p, sizes=False)  # the model fixes the image size and channels
    g = p.add_argument_group("corruption benchmark (classifiers)")
    g.add_argument("--corruptions", default=None, metavar="NAMES",
                   help="also score the model on corrupted test images: 'all' or a comma list of names "
                        "(gaussian_noise,shift,...); writes robustness.json and robustness_examples.png")
    g.add_argument("--severities", default="1,2,3,4,5", help="comma list of severities 1..5 (default: all five)")
    g.add_argument("--corruption-limit", type=int, default=None, metavar="N",
                   help="corrupt only the first N test images (default: as many as --limit, else all)")
    g.add_argument("--corruption-seed", type=int, default=0, help="seed of the corruptions (default 0)")
    from kerasdil._cli._scenes import add_scene_arguments

    add_scene_arguments(p, generators_help=(
        "segmenters: also score the model on the test scenes of each named scene generator at its own canvas, "
        "'all' or a comma list of standard,varied,touching,crowd,clutter (kerasdil.data.scenes.SCENE_GENERATORS); "
        "writes scene_generators.json and prints a table"))
    p.add_argument("--scene-seed", type=int, default=None, metavar="N",
                   help="segmenters: seed of the test scenes (default 0, the scenes every number here is quoted on); "
                        "another seed composes other test scenes from the same test digits")
    p.add_argument("--scale-buckets", default=None, metavar="EDGES",
                   help="segmenters: also score the pixels near digits of each scale bucket, e.g. "
                        "0.5,0.8,1.1,1.4,1.7,2.0 (bucket edges; JSON key scale_buckets and a printed table)")


def load_model_arg(spec):
    """A .keras path (safe mode) or "zoo_name[:tag]" -> (keras.Model, zoo info or None)."""
    import os

    if spec.endswith(".keras") or os.path.sep in spec:
        from kerasdil.export import load_model  # safe mode, one-sentence errors

        return load_model(spec), None
    from kerasdil.zoo import create_model, model_info
    from kerasdil.zoo.registry import warn_if_untrained

    name = spec.split(":", 1)[0]
    info = model_info(name)
    warn_if_untrained(spec)
    return create_model(spec), info


def _user_test_data(args, model, task, info=None):
    """``(test dataset, description, class names)`` from the user's data, or None for MNIST sources."""
    from kerasdil.data.sources import is_user_data, load_data

    options = data_options(args)
    data = args.data
    if data is None:
        found = trained_on(args.model)
        if found is None:
            return None
        data, trained_options = found
        options = {**trained_options, **options}
        import os

        split = scored_split(os.path.dirname(os.path.abspath(args.model)))
        print(f"evaluating on the {split.split(' (')[0]} split of the data {args.model} was trained on: {data}"
              + (f" ({split.split(' (', 1)[1]}" if " (" in split else ""))
    elif not is_user_data(data):
        if options:
            from kerasdil.data.sources import SERIES_OPTIONS

            first = sorted(options)[0]
            flag = SERIES_OPTIONS.get(first, f"--{first.replace('_', '-')}")
            raise ValueError(f"{flag} applies to your own data (an image folder, tfds:NAME, time series), "
                             "not to MNIST sources.")
        return None
    else:
        options.setdefault("validation_split", 0.0)  # a folder given to evaluate is evaluated whole
    shape = tuple(model.input_shape)[1:]
    if None in shape[:2]:
        raise ValueError(f"model {model.name!r} takes images of any size; evaluate it in Python with a fixed size.")
    from kerasdil.data.checks import check_class_names_agree

    names = model_class_names(args.model, info and info.name)
    if names is not None and task.name == "classification":
        options["class_names"] = names  # the folder's classes are matched to the model's by name
    # Images are brought to the model's size and channels; series (steps, channels) to its steps.
    series = len(shape) == 2
    size = dict(image_size=shape[:2], channels=shape[2]) if not series else {}
    if series:
        options.setdefault("length", int(shape[0]))
        from kerasdil.layers.mask1d import SplitValidityChannel

        if any(isinstance(layer, SplitValidityChannel) for layer in model.layers):  # it masks padded series
            options.setdefault("unequal", "pad")
    spec = load_data(data, task=task.name, series=series, **size, **options)
    check_class_names_agree(spec, names, f"model {args.model}")
    classes = model.outputs[0].shape[-1]
    if classes is not None and classes != spec.num_classes:
        raise ValueError(
            f"model {model.name!r} predicts {classes} classes but the data has {spec.num_classes} "
            f"({', '.join(spec.class_names)}); evaluate on data of the classes it was trained for."
        )
    if names is None and task.name == "classification":
        print(f"the model records no class names: the data's classes ({', '.join(spec.class_names)}) are taken as "
              f"its classes 0..{spec.num_classes - 1} in that order")
    test = spec.dataset("test", batch_size=args.batch_size, shuffle=False, limit=args.limit)
    from kerasdil.data.checks import describe_limit, example_noun

    return test, (spec.description + describe_limit({"test": spec.sizes().get("test")}, args.limit,
                                                    noun=example_noun(spec.input_shape))), spec.class_names


def _corruption_args(args):
    """``(corruptions, severities)`` of ``--corruptions`` (None, None without it), checked before the model loads."""
    if args.corruptions is None:
        return None, None
    # A typo in a name fails before the model loads.
    from kerasdil.data import resolve_corruptions, resolve_severities

    corruptions = resolve_corruptions(args.corruptions)
    severities = resolve_severities(args.severities)
    for flag, value in (("--corruption-limit", args.corruption_limit), ("--limit", args.limit)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be an integer >= 1; got {value}.")
    if args.corruption_seed < 0:
        raise ValueError(f"--corruption-seed must be a non-negative integer; got {args.corruption_seed}.")
    return corruptions, severities


def _scene_args(args, info):
    """``(scenes, buckets)``: the scene flags and ``--scale-buckets``, refused for a model that is no segmenter."""
    from kerasdil._cli._scenes import scene_settings

    scenes = scene_settings(args)
    if args.scene_seed is not None and args.scene_seed < 0:
        raise ValueError(f"--scene-seed must be a non-negative integer; got {args.scene_seed}.")
    if info.task != "segmentation" and (scenes or args.scale_buckets or args.scene_seed is not None):
        raise ValueError("--canvas, --scene-scale, --scene-digits, --scene-generators, --scene-seed and "
                         "--scale-buckets apply to segmenters; "
                         f"{args.model!r} is a {info.task} model.")
    buckets = None
    if args.scale_buckets is not None:
        from kerasdil.metrics import check_scale_buckets

        buckets = check_scale_buckets(args.scale_buckets.split(","))
    generators = (scenes or {}).pop("generators", None)
    if generators is not None:
        from kerasdil.data.scenes import resolve_scene_generators

        generators = resolve_scene_generators(generators)  # a typo fails before any scoring
    return scenes or None, buckets, generators


def _zoo_test_set(args, model, task, info, scenes, buckets):
    """``(model, test, source_text, extra, scene_arrays)``: the zoo data set's test split, the model rebuilt at
    ``--canvas`` for a segmenter when it differs."""
    from kerasdil.data.checks import check_model_memory

    extra = {}
    size = tuple(model.input_shape[1:3])
    if info.task == "segmentation":
        scenes = dict(scenes or {})
        canvas = tuple(scenes.pop("canvas_size", size))
        if None in canvas:
            canvas = tuple(info.input_shape[:2])
        if canvas != size:
            model = _model_at_size(args.model, model, canvas)
            check_model_memory(model, args.batch_size, training=False, size_flag="--canvas")  # before any scene
        extra = dict(canvas_size=canvas, **scenes)  # scenes at the size the model was built for (or --canvas)
    if buckets is not None:
        test, source_text, scene_arrays = _scene_test_set(info, args, extra)
        return model, test, source_text, extra, scene_arrays
    seed = {} if args.scene_seed is None else {"seed": args.scene_seed}
    _, _, test, source_text = task.datasets(info, batch_size=args.batch_size, source=args.data, augment=False,
                                            limit=args.limit, **seed, **extra)
    return model, test, source_text, extra, None


def run(args):
    from kerasdil.tasks import get_task, task_of_model
    from kerasdil.zoo import model_info

    corruptions, severities = _corruption_args(args)
    from kerasdil.data.checks import check_limit, check_model_memory

    check_limit(args.limit, "--limit")
    check_limit(args.batch_size, "--batch-size")
    model, info = load_model_arg(args.model)
    task = get_task(info.task) if info else task_of_model(model)
    if None not in tuple(model.input_shape)[1:3]:
        check_model_memory(model, args.batch_size, training=False)
    user = _user_test_data(args, model, task, info)
    if user is not None:
        test, source_text, class_names = user
        print(source_text)
        name = info.name if info else model.name
        if corruptions:
            raise ValueError("--corruptions scores MNIST classifiers on corrupted MNIST test images; "
                             "leave it out for your own data.")
        return _score(args, model, task, test, class_names, name, source_text)
    if info is None:
        # A .keras file from `kerasdil train` carries its zoo name as the model name.
        try:
            info = model_info(model.name)
        except ValueError:
            info = None
    if info is None:
        raise ValueError(f"cannot tell which data set {args.model!r} was trained on; its name {model.name!r} is not a zoo model.")
    if corruptions and info.task != "classification":
        raise ValueError(f"--corruptions scores classifiers; {args.model!r} is a {info.task} model.")
    scenes, buckets, generators = _scene_args(args, info)
    model, test, source_text, extra, scene_arrays = _zoo_test_set(args, model, task, info, scenes, buckets)
    print(source_text)
    from kerasdil.train import check_data_fits_model

    check_data_fits_model(test, model)  # a 3-channel or 32x32 model: one sentence, not a graph dump
    # Which data the numbers are of: a path, or the embedded sample (whose numbers are not MNIST's).
    data_text = source_text[len("data: "):] if source_text.startswith("data: ") else source_text
    scenes_info = None
    if info.task == "segmentation":
        scenes_info = dict(source_text=source_text, extra=extra, buckets=buckets, scene_arrays=scene_arrays,
                           generators=generators)
    return _score(args, model, task, test, None, info.name, data_text, corruptions, severities, scenes_info)


def _score(args, model, task, test, class_names, name, data_text, corruptions=None, severities=None,
           scenes_info=None):
    import os

    if ":" in args.model and os.sep not in args.model:
        name = args.model.replace(":", "-")  # one folder per weights tag: deeplab_aspp-scenes
    out = args.out or (os.path.dirname(os.path.abspath(args.model)) if args.model.endswith(".keras") else os.path.join("runs", f"eval-{name}"))
    os.makedirs(out, exist_ok=True)
    metrics = task.evaluate(model, test, out_dir=out, class_names=class_names, prefix="eval_")  # training's plots stay
    metrics["data"] = data_text
    if scenes_info is not None:
        metrics["scenes"] = {"description": scenes_info["source_text"],
                             **{k: list(v) for k, v in scenes_info["extra"].items()}}
        if scenes_info["buckets"] is not None:
            from kerasdil.metrics import predict_classes, scale_bucket_scores

            arrays = scenes_info["scene_arrays"]
            predictions = predict_classes(model, arrays.images, batch_size=args.batch_size)
            metrics["scale_buckets"] = scale_bucket_scores(
                arrays.masks, predictions, arrays.scale_map(), scenes_info["buckets"], task.num_classes, arrays.scales)
    path = os.path.join(out, "eval_metrics.json")
    from kerasdil._json import dumps
    from kerasdil.export._files import write_text

    write_text(path, dumps(metrics, indent=2))
    if "accuracy" in metrics:
        print(f"accuracy {metrics['accuracy']:.4f} ({metrics['errors']} errors of {metrics['samples']}), loss {metrics['loss']:.4f}")
        print("per-class accuracy: " + ", ".join(f"{c}: {'n/a' if a is None else f'{a:.4f}'}"
                                                 for c, a in metrics["per_class_accuracy"].items()))
    else:
        print(", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float)))
        iou = metrics.get("per_class_iou")
        if iou:
            pairs = iou.items() if isinstance(iou, dict) else enumerate(iou)
            print("per-class IoU: " + ", ".join(f"{c}: {'n/a' if v is None else f'{v:.4f}'}" for c, v in pairs))
    if "scale_buckets" in metrics:
        print(format_scale_buckets(metrics["scale_buckets"]))
    print(f"written: {path}" + "".join(f", {v}" for k, v in metrics.items() if k.endswith("_png")))
    if corruptions:
        _run_corruptions(args, model, corruptions, severities, out)
    if scenes_info is not None and scenes_info["generators"]:
        _run_scene_generators(args, model, scenes_info["generators"], out)
    return 0


def _run_scene_generators(args, model, generators, out):
    import warnings

    from kerasdil.data import SampleDataWarning, load_mnist_arrays
    from kerasdil.robustness import evaluate_scene_generators, format_scene_generators

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleDataWarning)  # already said once above
        arrays = load_mnist_arrays(args.data)
    from kerasdil.data.scenes import DEFAULT_NUM_SCENES

    count = DEFAULT_NUM_SCENES["test"] if args.limit is None else min(DEFAULT_NUM_SCENES["test"], args.limit)
    print(f"scene-generator benchmark: {len(generators)} generators x {count:,} test scenes")
    result = evaluate_scene_generators(model, arrays, generators, seed=args.scene_seed or 0, num_scenes=count,
                                       batch_size=args.batch_size, out_dir=out, verbose=0,
                                       model_at=lambda canvas: _model_at_size(args.model, model, canvas))
    print(format_scene_generators(result))
    print(f"written: {result['json']}")


def _run_corruptions(args, model, corruptions, severities, out):
    import warnings

    from kerasdil.data import SampleDataWarning, load_mnist_arrays
    from kerasdil.robustness import evaluate_robustness, format_robustness

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleDataWarning)  # already said once above
        arrays = load_mnist_arrays(args.data)
    limit = args.corruption_limit or args.limit
    x, y = arrays.x_test[:limit], arrays.y_test[:limit]
    print(f"corruption benchmark: {len(corruptions)} corruptions x {len(severities)} severities on {len(x)} test images")
    # A progress bar on a terminal only: written to a file or a pipe its carriage returns pile into one line.
    result = evaluate_robustness(model, x, y, corruptions=corruptions, severities=severities,
                                 seed=args.corruption_seed, batch_size=args.batch_size, out_dir=out,
                                 verbose=int(progress_verbosity(False) == "auto"))
    print(format_robustness(result))
    print(f"written: {result['json']}, {result['examples_png']}")


def format_scale_buckets(rows):
    """The per-scale-bucket scores as a printed table."""
    lines = ["digit scale    digits   pixels     mIoU  digit pixel acc.",
             "-----------  --------  ---------  ------  ----------------"]
    for r in rows:
        def num(v):
            return "   n/a" if v != v else f"{v:.4f}"

        lines.append(f"{r['low']:4.2f}-{r['high']:<6.2f}  {r.get('digits', 0):8,}  {r['pixels']:9,}  {num(r['miou'])}"
                     f"  {num(r['digit_pixel_accuracy']):>16}")
    return "\n".join(lines)


def _model_at_size(spec, model, canvas):
    """``model`` rebuilt for a ``canvas`` (H, W): zoo segmenters are fully convolutional."""
    if spec.endswith(".keras") or "/" in spec:
        raise ValueError(
            f"{spec!r} is built for {model.input_shape[1]}x{model.input_shape[2]} scenes; --canvas "
            f"{canvas[0]},{canvas[1]} needs a zoo name with a weights tag (such as deeplab_aspp:scenes), "
            "which is rebuilt at any canvas.")
    from kerasdil.zoo import create_model

    return create_model(spec, input_shape=(*canvas, model.input_shape[3]))


def _scene_test_set(info, args, scene_kwargs):
    """(dataset, description, ScenesArrays) of the test scenes ``task.datasets`` would make."""
    from kerasdil.data import load_mnist_arrays
    from kerasdil.data.scenes import DEFAULT_NUM_SCENES, SCENE_NUM_CLASSES, load_scenes_arrays, segmentation_dataset

    count = DEFAULT_NUM_SCENES["test"] if args.limit is None else min(DEFAULT_NUM_SCENES["test"], args.limit)
    arrays = load_scenes_arrays("test", num_scenes=count, source=load_mnist_arrays(args.data),
                                seed=args.scene_seed or 0, **scene_kwargs)
    data = segmentation_dataset(arrays.images, arrays.masks, num_classes=SCENE_NUM_CLASSES, batch_size=args.batch_size)
    c = arrays.config
    text = (f"data: MNIST scenes {c.canvas_size[0]}x{c.canvas_size[1]}, scale {c.scale_range[0]:g}-{c.scale_range[1]:g}, "
            f"digits {c.digits_per_image[0]}-{c.digits_per_image[1]}, {len(arrays):,} test scenes from {arrays.source}")
    return data, text, arrays
