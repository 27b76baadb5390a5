"""`kerasdil zoo list [PATTERN]` / `kerasdil zoo info NAME [--build]`

Both answer from the zoo's records (plain Python) without importing TensorFlow:
parameters, MACs and the receptive field come from the entry's ``summary``,
computed from the stage plan its builder uses. ``--build`` builds the model and
counts them on it instead (the only way for an entry without a summary).
"""



def add_arguments(p):
    sub = p.add_subparsers(dest="zoo_command", metavar="{list,info}")
    ls = sub.add_parser("list", help="registered models")
    ls.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'mnist_*'")
    info = sub.add_parser("info", help="one model: config, params, MACs, receptive field, weights")
    info.add_argument("name")
    info.add_argument("--build", action="store_true",
                      help="build the model (imports TensorFlow) and count on it instead of on its plan")


def describe(name, build=False):
    """What ``kerasdil zoo info`` prints about ``name``'s default model: a dict with ``params``,
    ``trainable_params``, ``macs``, ``receptive_field``, ``stride`` and ``holes``; None when the
    entry has no summary and ``build`` is False.

    Raises:
        ValueError: ``name`` is not registered.
    """
    from kerasdil.receptive import receptive_field
    from kerasdil.zoo.registry import create_model, model_info

    info = model_info(name)
    if build:
        from kerasdil.receptive import receptive_field_of_model
        from kerasdil.zoo.stats import model_stats

        model = create_model(name)
        stats, rf = model_stats(model), receptive_field_of_model(model)
        counts = dict(params=stats["params"], trainable_params=stats["trainable_params"], macs=stats["macs"])
    else:
        planned = info.record.summary(**info.default_config) if info.record.summary else None
        if planned is None:
            return None
        tally, specs = planned
        rf = receptive_field(specs)
        counts = dict(params=tally.params, trainable_params=tally.trainable, macs=tally.macs)
    return dict(counts, receptive_field=tuple(rf.size), stride=tuple(int(s) for s in rf.stride), holes=rf.holes)


def _list(pattern):
    from kerasdil.zoo.registry import list_models, model_info

    names = list_models(pattern)
    if not names:
        print(f"no zoo model matches {pattern!r}")
        return 1
    width = max(len(n) for n in names)
    tags = [",".join(model_info(n).pretrained) or "-" for n in names]
    tag_width = max(8, *(len(t) for t in tags))
    for n, t in zip(names, tags):
        info = model_info(n)
        print(f"{n:<{width}}  {info.task:<14}  weights: {t:<{tag_width}}  {info.description}")
    return 0


def run(args):
    from kerasdil.zoo.registry import model_info

    if args.zoo_command in (None, "list"):
        return _list(getattr(args, "pattern", "*"))
    name = args.name
    info = model_info(name)
    counts = describe(name, build=args.build)
    print(f"{name}: {info.description}")
    print(f"  task            {info.task}, input {info.input_shape}, {info.num_classes} classes")
    if counts is None:
        print(f"  params          not derived without building (the entry's record has no plain-Python layer plan, "
              f"`summary`); `kerasdil zoo info {name} --build` counts them")
    else:
        rf, stride = counts["receptive_field"], counts["stride"]
        print(f"  params          {counts['params']:,} ({counts['trainable_params']:,} trainable)")
        unit = "MACs/" + ("series" if len(info.input_shape) == 2 else "image")
        print(f"  {unit:<16}{counts['macs']:,}")
        print(f"  receptive field {rf[0]} x {rf[1]}, stride {stride[0]} x {stride[1]}, "
              f"{'gridding-free' if not counts['holes'] else str(counts['holes']) + ' holes'}")
    for k, v in info.default_config.items():
        print(f"  {k:<15} {v!r}")
    for tag, w in info.pretrained.items():
        shown = {k: v for k, v in w.metrics.items() if isinstance(v, (int, float))}
        print(f"  weights '{tag}'   {w.path} (sha256 {w.sha256[:12]}...) {shown}")
        if w.recipe:
            print(f"    recipe: {w.recipe}")
    if not info.pretrained:
        print("  weights         none shipped")
    return 0
