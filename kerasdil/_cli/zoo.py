"""`kerasdil zoo list [PATTERN]` / `kerasdil zoo info NAME`

Both answer from ``kerasdil._zoo_catalog`` (plain data, tested against the real
registry), so they print at once instead of loading TensorFlow first.
"""

import fnmatch


def add_arguments(p):
    sub = p.add_subparsers(dest="zoo_command", metavar="{list,info}")
    ls = sub.add_parser("list", help="registered models")
    ls.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. 'mnist_*'")
    info = sub.add_parser("info", help="one model: config, params, MACs, receptive field, weights")
    info.add_argument("name")


def run(args):
    from kerasdil._zoo_catalog import ENTRIES, pretrained

    if args.zoo_command in (None, "list"):
        pattern = getattr(args, "pattern", "*")
        names = [n for n in sorted(ENTRIES) if fnmatch.fnmatch(n, pattern)]
        if not names:
            print(f"no zoo model matches {pattern!r}")
            return 1
        width = max(len(n) for n in names)
        tags = [",".join(pretrained(n)) or "-" for n in names]
        tag_width = max(8, *(len(t) for t in tags))
        for n, t in zip(names, tags):
            print(f"{n:<{width}}  {ENTRIES[n]['task']:<14}  weights: {t:<{tag_width}}  {ENTRIES[n]['description']}")
        return 0

    name = args.name
    if name not in ENTRIES:
        raise ValueError(f"unknown zoo model {name!r}; registered models: {', '.join(sorted(ENTRIES))}.")
    i = ENTRIES[name]
    rf, stride = i["receptive_field"], i["stride"]
    print(f"{name}: {i['description']}")
    print(f"  task            {i['task']}, input {i['input_shape']}, {i['num_classes']} classes")
    print(f"  params          {i['params']:,} ({i['trainable_params']:,} trainable)")
    print(f"  MACs/image      {i['macs']:,}")
    print(f"  receptive field {rf[0]} x {rf[1]}, stride {stride[0]} x {stride[1]}, "
          f"{'gridding-free' if not i['holes'] else str(i['holes']) + ' holes'}")
    for k, v in i["default_config"].items():
        print(f"  {k:<15} {v!r}")
    weights = pretrained(name)
    for tag, card in weights.items():
        shown = {k: v for k, v in card.get("metrics", {}).items() if isinstance(v, (int, float))}
        print(f"  weights '{tag}'   {card['path']} (sha256 {card['sha256'][:12]}...) {shown}")
        if card.get("recipe"):
            print(f"    recipe: {card['recipe']}")
    if not weights:
        print("  weights         none shipped")
    return 0
