"""`kerasdil evaluate MODEL --data ...`"""


def add_arguments(p):
    p.add_argument("model", help="a .keras file, or a zoo name with pretrained tag such as mnist_dsdc:mnist")
    p.add_argument("--data", default=None, help="'sample', an .npz file or a folder (default search order)")
    p.add_argument("--out", default=None, help="folder for eval_metrics.json and eval_* plots (default: next to the model, or runs/eval-<name>)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--limit", type=int, default=None, help="evaluate on the first N test images only")
    from kerasdil._cli._scenes import add_scene_arguments

    add_scene_arguments(p)
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


def run(args):
    import json
    import os

    from kerasdil.tasks import get_task, task_of_model
    from kerasdil.zoo import model_info

    model, info = load_model_arg(args.model)
    task = get_task(info.task) if info else task_of_model(model)
    if info is None:
        # A .keras file from `kerasdil train` carries its zoo name as the model name.
        try:
            info = model_info(model.name)
        except ValueError:
            info = None
    if info is None:
        raise ValueError(f"cannot tell which data set {args.model!r} was trained on; its name {model.name!r} is not a zoo model.")
    from kerasdil._cli._scenes import scene_settings

    scenes = scene_settings(args)
    if info.task != "segmentation" and (scenes or args.scale_buckets):
        raise ValueError(f"--canvas, --scene-scale, --scene-digits and --scale-buckets apply to segmenters; "
                         f"{args.model!r} is a {info.task} model.")
    buckets = None
    if args.scale_buckets is not None:
        from kerasdil.metrics import check_scale_buckets

        buckets = check_scale_buckets(args.scale_buckets.split(","))
    extra = {}
    size = tuple(model.input_shape[1:3])
    if info.task == "segmentation":
        scenes = dict(scenes or {})
        canvas = tuple(scenes.pop("canvas_size", size))
        if None in canvas:
            canvas = tuple(info.input_shape[:2])
        if canvas != size:
            model = _model_at_size(args.model, model, canvas)
        extra = dict(canvas_size=canvas, **scenes)  # scenes at the size the model was built for (or --canvas)
    if buckets is not None:
        test, source_text, scene_arrays = _scene_test_set(info, args, extra)
    else:
        _, _, test, source_text = task.datasets(info, batch_size=args.batch_size, source=args.data, augment=False,
                                                limit=args.limit, **extra)
    print(source_text)
    out = args.out or (os.path.dirname(os.path.abspath(args.model)) if args.model.endswith(".keras") else os.path.join("runs", f"eval-{info.name}"))
    os.makedirs(out, exist_ok=True)
    metrics = task.evaluate(model, test, out_dir=out, prefix="eval_")  # training's plots stay
    if info.task == "segmentation":
        metrics["scenes"] = {"description": source_text, **{k: list(v) for k, v in extra.items()}}
    if buckets is not None:
        from kerasdil.metrics import predict_classes, scale_bucket_scores

        predictions = predict_classes(model, scene_arrays.images, batch_size=args.batch_size)
        metrics["scale_buckets"] = scale_bucket_scores(
            scene_arrays.masks, predictions, scene_arrays.scale_map(), buckets, task.num_classes, scene_arrays.scales)
    path = os.path.join(out, "eval_metrics.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(metrics, f, indent=2)
    os.replace(tmp, path)
    if "accuracy" in metrics:
        print(f"accuracy {metrics['accuracy']:.4f} ({metrics['errors']} errors of {metrics['samples']}), loss {metrics['loss']:.4f}")
        print("per-class accuracy: " + ", ".join(f"{c}: {a:.4f}" for c, a in metrics["per_class_accuracy"].items()))
    else:
        print(", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float)))
        iou = metrics.get("per_class_iou")
        if iou:
            pairs = iou.items() if isinstance(iou, dict) else enumerate(iou)
            print("per-class IoU: " + ", ".join(f"{c}: {'n/a' if v is None else f'{v:.4f}'}" for c, v in pairs))
    if "scale_buckets" in metrics:
        print(format_scale_buckets(metrics["scale_buckets"]))
    print(f"written: {path}" + "".join(f", {v}" for k, v in metrics.items() if k.endswith("_png")))
    return 0


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
    arrays = load_scenes_arrays("test", num_scenes=count, source=load_mnist_arrays(args.data), **scene_kwargs)
    data = segmentation_dataset(arrays.images, arrays.masks, num_classes=SCENE_NUM_CLASSES, batch_size=args.batch_size)
    c = arrays.config
    text = (f"data: MNIST scenes {c.canvas_size[0]}x{c.canvas_size[1]}, scale {c.scale_range[0]:g}-{c.scale_range[1]:g}, "
            f"digits {c.digits_per_image[0]}-{c.digits_per_image[1]}, {len(arrays):,} test scenes from {arrays.source}")
    return data, text, arrays
