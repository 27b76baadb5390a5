"""`kerasdil zoo list [PATTERN]` / `kerasdil zoo info NAME`"""


def add_arguments(p):
    sub = p.add_subparsers(dest="zoo_command", metavar="{list,info}")
    ls = sub.add_parser("list", help="registered models")
    ls.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'mnist_*'")
    info = sub.add_parser("info", help="one model: config, params, MACs, receptive field, weights")
    info.add_argument("name")


def run(args):
    from kerasdil.zoo import create_model, list_models, model_info

    if args.zoo_command in (None, "list"):
        names = list_models(getattr(args, "pattern", "*"))
        if not names:
            print(f"no zoo model matches {args.pattern!r}")
            return 1
        width = max(len(n) for n in names)
        infos = [model_info(n) for n in names]
        tags = [",".join(i.pretrained) or "-" for i in infos]
        tag_width = max(8, *(len(t) for t in tags))
        for n, i, t in zip(names, infos, tags):
            print(f"{n:<{width}}  {i.task:<14}  weights: {t:<{tag_width}}  {i.description}")
        return 0

    from kerasdil.receptive import receptive_field_of_model
    from kerasdil.zoo.stats import model_stats

    i = model_info(args.name)
    model = create_model(args.name)
    stats = model_stats(model)
    rf = receptive_field_of_model(model)
    print(f"{i.name}: {i.description}")
    print(f"  task            {i.task}, input {i.input_shape}, {i.num_classes} classes")
    print(f"  params          {stats['params']:,} ({stats['trainable_params']:,} trainable)")
    print(f"  MACs/image      {stats['macs']:,}")
    print(f"  receptive field {rf.size[0]} x {rf.size[1]}, stride {rf.stride[0]} x {rf.stride[1]}, "
          f"{'gridding-free' if rf.gridding_free else f'{rf.holes} holes'}")
    for k, v in i.default_config.items():
        print(f"  {k:<15} {v!r}")
    record = i.record  # kerasdil/zoo/<family>_record.py
    print("  train recipe    " + ", ".join(f"{k}={v}" for k, v in record.training_recipe.items()))
    print("  finetune recipe " + ", ".join(f"{k}={v}" for k, v in record.finetuning_recipe.items()))
    if record.backbone_layers:
        print(f"  backbone layers names starting with {', '.join(record.backbone_layers)}")
    for tag, w in i.pretrained.items():
        shown = {k: v for k, v in w.metrics.items() if isinstance(v, (int, float))}
        print(f"  weights '{tag}'   {w.path} (sha256 {w.sha256[:12]}...) {shown}")
        if w.recipe:
            print(f"    recipe: {w.recipe}")
    if not i.pretrained:
        print("  weights         none shipped")
    return 0
