"""`kerasdil evaluate MODEL --data ...`"""


def add_arguments(p):
    p.add_argument("model", help="a .keras file, or a zoo name with pretrained tag such as mnist_dsdc:mnist")
    p.add_argument("--data", default=None, help="'sample', an .npz file or a folder (default search order)")
    p.add_argument("--out", default=None, help="folder for eval_metrics.json and eval_* plots (default: next to the model, or runs/eval-<name>)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--limit", type=int, default=None, help="evaluate on the first N test images only")


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
    extra = {}
    size = tuple(model.input_shape[1:3])
    if info.task == "segmentation" and None not in size:
        extra["canvas_size"] = size  # scenes at the size the model was built for
    _, _, test, source_text = task.datasets(info, batch_size=args.batch_size, source=args.data, augment=False,
                                            limit=args.limit, **extra)
    print(source_text)
    from kerasdil.train import check_data_fits_model

    check_data_fits_model(test, model)  # a 3-channel or 32x32 model: one sentence, not a graph dump
    out = args.out or (os.path.dirname(os.path.abspath(args.model)) if args.model.endswith(".keras") else os.path.join("runs", f"eval-{info.name}"))
    os.makedirs(out, exist_ok=True)
    metrics = task.evaluate(model, test, out_dir=out, prefix="eval_")  # training's plots stay
    # Which data the numbers are of: a path, or the embedded sample (whose numbers are not MNIST's).
    metrics["data"] = source_text[len("data: "):] if source_text.startswith("data: ") else source_text
    path = os.path.join(out, "eval_metrics.json")
    from kerasdil._json import dumps
    from kerasdil.export._files import write_text

    write_text(path, dumps(metrics, indent=2))
    if "accuracy" in metrics:
        print(f"accuracy {metrics['accuracy']:.4f} ({metrics['errors']} errors of {metrics['samples']}), loss {metrics['loss']:.4f}")
        print("per-class accuracy: " + ", ".join(f"{c}: {a:.4f}" for c, a in metrics["per_class_accuracy"].items()))
    else:
        print(", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float)))
        iou = metrics.get("per_class_iou")
        if iou:
            pairs = iou.items() if isinstance(iou, dict) else enumerate(iou)
            print("per-class IoU: " + ", ".join(f"{c}: {'n/a' if v is None else f'{v:.4f}'}" for c, v in pairs))
    print(f"written: {path}" + "".join(f", {v}" for k, v in metrics.items() if k.endswith("_png")))
    return 0
