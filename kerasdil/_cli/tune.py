"""``kerasdil tune``: search dilation schedules with keras-tuner (local, chief or worker).

Examples::

    kerasdil tune mnist_dsdc --tuner hyperband --max-trials 30 --epochs 3 --dir runs/tune \\
        --gridding-free --min-receptive-field 28 --max-params 12234
    # the same search, distributed: one chief and any number of workers (the chief's
    # port is unauthenticated: PORT alone listens on loopback, 127.0.0.1)
    kerasdil tune mnist_dsdc ... --dir /shared/tune --chief 8000
    kerasdil tune mnist_dsdc ... --dir /shared/tune --worker 127.0.0.1:8000 --worker-id 0
    # the segmenter: backbone schedules, ASPP rates and output stride, scored by val_mean_iou
    kerasdil tune deeplab_aspp --tuner random --max-trials 12 --epochs 2 --dir runs/tune_seg \
        --aspp-rates 1,2,3/2,4,6/3,6,9 --output-strides 8,16 --max-params 110k --data mnist.npz

    # multi-fidelity search, then the two best candidates and the zoo default retrained over 3 seeds
    kerasdil tune mnist_dsdc --tuner hyperband --max-epochs 4 --factor 3 --max-trials 8 --dir runs/tune \
        --reevaluate-top 2 --seeds 0,1,2 --reevaluate-epochs 2

Kill it at any point and rerun the same command: the search (and the re-evaluation) continues.
"""

import re

from kerasdil._cli._data import data_options as _data_options


def _int_list(text, flag):
    items = [w for w in re.split(r"[,\s]+", str(text).strip()) if w]
    try:
        values = tuple(int(w) for w in items)
    except ValueError:
        values = ()
    if not values:
        raise ValueError(f"{flag} takes whole numbers separated by commas such as 1,2,3; got {text!r}.")
    return values


def _menu(text, flag):
    """``"1,2,3/2,4,6"`` (or ``;`` between entries) -> ((1, 2, 3), (2, 4, 6))."""
    entries = [e for e in re.split(r"[/;]", str(text)) if e.strip()]
    if not entries:
        raise ValueError(f"{flag} takes rate lists separated by '/' such as 1,2,3/2,4,6; got {text!r}.")
    return tuple(_int_list(e, flag) for e in entries)


def _input_size(text):
    """``"64x80"`` -> (64, 80)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*", str(text))
    if not m or not int(m.group(1)) or not int(m.group(2)):
        raise ValueError(f"--input-size takes HEIGHTxWIDTH such as 64x80, got {text!r}.")
    return int(m.group(1)), int(m.group(2))


def _count(text):
    """``"12234"``, ``"12k"``, ``"1.5M"`` -> int."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgG]?)\s*", str(text))
    if not m:
        import argparse

        # ArgumentTypeError: argparse prints this message as is (a ValueError would be
        # shown as "invalid _count value").
        raise argparse.ArgumentTypeError(f"expected a count such as 12000, 12k or 1.5M, got {text!r}")
    scale = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()]
    return int(round(float(m.group(1)) * scale))


#: Python argument names in the library's messages -> the flags of ``kerasdil tune`` / ``tune-report``.
FLAGS = {
    "overwrite=True": "--overwrite",
    "directory=": "--dir",
    "project_name=": "--project-name",
    "max_trials=": "--max-trials",
    "epochs=": "--epochs",
    "batch_size=": "--batch-size",
    "validation_size=": "--validation-size",
    "top=": "--reevaluate-top",
    "seeds=": "--seeds",
    "tuner='bayesian'": "--tuner bayesian",
    "tuner='random' or 'hyperband'": "--tuner random or hyperband",
}


def as_flags(error, flags=None):
    """The same exception with the library's Python argument names (``overwrite=True``) as CLI flags."""
    message = str(error.args[0]) if error.args else str(error)
    for name, flag in (flags or FLAGS).items():
        message = message.replace(name, flag)
    message = message.replace("a search (kerasdil.tune.search)", "kerasdil tune")
    message = message.replace("rerun with the same settings", "rerun the same command")
    return type(error)(message)


def add_arguments(parser):
    """Add the ``tune`` arguments to an argparse (sub)parser."""
    _add_search_arguments(parser)
    _add_space_arguments(parser)
    _add_constraint_arguments(parser)
    _add_training_arguments(parser)
    _add_distributed_arguments(parser)


def _add_search_arguments(parser):
    parser.add_argument("model", help="model to search: mnist_dsdc, deeplab_aspp, deeplab_aspp_mobile "
                        "(deeplab_aspp's mobile configuration: stages 2-4, ASPP rates, output stride) or "
                        "series_dsdc (time series: pass --data)")
    parser.add_argument("--tuner", default="hyperband", choices=("random", "bayesian", "hyperband"),
                        help="search algorithm (default hyperband)")
    parser.add_argument("--max-trials", type=int, default=10, help="total trials, also across resumes (default 10)")
    parser.add_argument("--epochs", "--max-epochs", dest="epochs", type=int, default=2,
                        help="epochs per trial; for hyperband the most epochs of a trial (default 2)")
    parser.add_argument("--dir", required=True, help="search folder (rerun with the same --dir to resume)")
    parser.add_argument("--project-name", default=None, help="sub-folder of the search (default: the model name)")
    parser.add_argument("--overwrite", action="store_true", help="delete an earlier search in --dir and start afresh")


def _add_space_arguments(parser):
    g = parser.add_argument_group("search space")
    g.add_argument("--depths", default=None,
                   help="blocks per searched stage (default 2,3,4; deeplab_aspp 2,3; deeplab_aspp_mobile 1,2,3)")
    g.add_argument("--rates", default=None,
                   help="dilation rates a block may use (default 1,2,3,4,5; deeplab_aspp 1,2,3,5; "
                        "deeplab_aspp_mobile 1,2,3,4)")
    g.add_argument("--order", default="increasing", choices=("increasing", "nondecreasing", "any"),
                   help="order of the rates inside a stage (default increasing)")
    g.add_argument("--widths", default=None, help="model widths to consider (default 8,12,16; deeplab_aspp 12,18; "
                   "deeplab_aspp_mobile 16, the stem)")
    g.add_argument("--learning-rate", type=float, default=3e-3, help="Adam learning rate (default 3e-3)")
    g.add_argument("--search-learning-rate", default=None, metavar="LOW,HIGH",
                   help="also search the learning rate, log-uniform in [LOW, HIGH]")
    s = parser.add_argument_group("segmenter space (deeplab_aspp and deeplab_aspp_mobile only)")
    s.add_argument("--aspp-rates", default=None, metavar="R,R,R/...",
                   help="ASPP rate tuples to choose from, '/' between tuples "
                        "(default 1,2,3/2,4,6/3,6,9/2,4,8; used as given at every output stride)")
    s.add_argument("--output-strides", default=None,
                   help="output strides to consider, from 4,8,16 (default 4,8,16; deeplab_aspp_mobile 8)")
    s.add_argument("--searched-stages", type=int, default=None,
                   help="backbone stages whose schedule draws from --depths x --rates (default 2)")
    s.add_argument("--later-stage-schedules", default=None, metavar="R,R/...",
                   help="schedules each later stage picks from, at its natural stride (default 1,2,3/1,2; "
                        "deeplab_aspp_mobile 1,2/1,2,3/1)")
    s.add_argument("--input-size", default=None, metavar="HxW",
                   help="input and scene size; every output stride must divide it (default 64x80)")
    from kerasdil._cli._scenes import add_scene_arguments

    add_scene_arguments(s, canvas=False)  # the train and validation scenes; --input-size is the canvas


def _add_constraint_arguments(parser):
    c = parser.add_argument_group("constraints (applied before any training)")
    c.add_argument("--gridding-free", action="store_true",
                   help="every stage schedule passes the HDC rule and the coverage map at its natural stride, "
                        "and the whole chain has no holes (deeplab_aspp: stages past the output stride run "
                        "their rates multiplied on a map the earlier stages already cover)")
    c.add_argument("--min-receptive-field", type=int, default=None, metavar="PIXELS",
                   help="receptive field of at least this many pixels per side (28 = whole MNIST image; "
                        "deeplab_aspp: backbone plus the widest ASPP branch)")
    c.add_argument("--max-params", type=_count, default=None, metavar="P", help="at most P parameters (12k, 1.5M)")
    c.add_argument("--max-macs", type=_count, default=None, metavar="M", help="at most M multiply-accumulates/image")


def _add_training_arguments(parser):
    d = parser.add_argument_group("data and training")
    d.add_argument("--data", default=None,
                   help='MNIST source as kerasdil.data takes it: "sample", a .npz file or a folder '
                        "(default: kerasdil.data's search order); or your own data: a folder of class subfolders, "
                        "of images/ and masks/, or tfds:NAME[:CONFIG] (the search runs at its size and classes)")
    d.add_argument("--limit", type=int, default=None,
                   help="use only the first N training images (deeplab_aspp: at most N train and validation scenes)")
    d.add_argument("--validation-size", type=int, default=None,
                   help="training images held out for the objective (default 5000, or a fifth of a small set; "
                        "deeplab_aspp: validation scenes, default 1000)")
    d.add_argument("--batch-size", type=int, default=128, help="batch size (default 128)")
    d.add_argument("--augment", action="store_true",
                   help="random affine augmentation while training (deeplab_aspp: new scenes every epoch)")
    d.add_argument("--seed", type=int, default=0, help="sampling and data seed (default 0)")
    d.add_argument("--hyperband-factor", "--factor", dest="hyperband_factor", type=int, default=3,
                   help="Hyperband reduction factor (default 3)")
    d.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="Keras fit verbosity (default 2)")
    from kerasdil._cli._data import add_data_arguments

    add_data_arguments(parser)
    r = parser.add_argument_group("re-evaluation (after the search; resumable)")
    r.add_argument("--reevaluate-top", type=int, default=None, metavar="K",
                   help="retrain the K best distinct candidates and the zoo default once per --seeds, "
                        "and say whether the winner beats the default with non-overlapping ranges (on the "
                        "validation split; the data's test split, when it has one, is reported beside it)")
    r.add_argument("--seeds", default="0,1,2", help="seeds of the re-evaluation (default 0,1,2)")
    r.add_argument("--reevaluate-epochs", type=int, default=None, metavar="E",
                   help="epochs per re-evaluation run (default --epochs)")


def _add_distributed_arguments(parser):
    x = parser.add_argument_group("distributed search")
    role = x.add_mutually_exclusive_group()
    role.add_argument("--chief", metavar="[HOST:]PORT", default=None,
                      help="run the oracle, listening on HOST:PORT (PORT alone: 127.0.0.1, this machine only); "
                           "the port has no authentication, so any other HOST gets a warning")
    role.add_argument("--worker", metavar="HOST:PORT", default=None, help="run trials for the chief at HOST:PORT")
    x.add_argument("--worker-id", type=int, default=None, help="this worker's number (0, 1, ...), with --worker")
    x.add_argument("--lease", type=float, default=60.0,
                   help="chief: seconds without a word before a worker's trial goes to another worker (default 60)")
    x.add_argument("--heartbeat", type=float, default=5.0, help="worker: seconds between heartbeats (default 5)")
    x.add_argument("--rpc-timeout", type=float, default=3600.0,
                   help="worker: seconds to wait for the chief on each call (default 3600)")


def run(args):
    """Run ``kerasdil tune``; returns the exit code."""
    if args.worker_id is not None and not args.worker:
        raise ValueError("--worker-id goes with --worker HOST:PORT.")
    if args.worker and args.worker_id is None:
        raise ValueError("--worker needs --worker-id N (0, 1, ...), a different N for each worker.")
    if args.heartbeat <= 0 or args.lease <= args.heartbeat:
        raise ValueError(f"--lease ({args.lease:g}) must be longer than --heartbeat ({args.heartbeat:g}), both > 0.")
    lr_range = None
    if args.search_learning_rate:
        try:
            lr_range = tuple(float(v) for v in args.search_learning_rate.split(","))
        except ValueError:
            lr_range = ()
        if len(lr_range) != 2:
            raise ValueError(f"--search-learning-rate takes LOW,HIGH such as 1e-4,1e-2; got {args.search_learning_rate!r}.")

    from kerasdil.tune.constraints import Constraints, SegmenterSpace
    from kerasdil.tune.hypermodels import get_family

    family = get_family(args.model)  # a clear error before TensorFlow loads
    segmenter_flags = {"--aspp-rates": args.aspp_rates, "--output-strides": args.output_strides,
                       "--searched-stages": args.searched_stages,
                       "--later-stage-schedules": args.later_stage_schedules, "--input-size": args.input_size,
                       "--scene-scale": args.scene_scale, "--scene-digits": args.scene_digits,
                       "--scene-unit-share": args.scene_unit_share}
    fields = {"order": args.order}
    for flag, name in (("--depths", "depths"), ("--rates", "rates"), ("--widths", "widths")):
        value = getattr(args, name)
        if value is not None:
            fields[name] = _int_list(value, flag)
    input_shape = None
    if issubclass(family.space_type, SegmenterSpace):
        if args.aspp_rates is not None:
            fields["aspp_rates"] = _menu(args.aspp_rates, "--aspp-rates")
        if args.output_strides is not None:
            fields["output_strides"] = _int_list(args.output_strides, "--output-strides")
        if args.searched_stages is not None:
            fields["searched_stages"] = args.searched_stages
        if args.later_stage_schedules is not None:
            fields["later_stage_schedules"] = _menu(args.later_stage_schedules, "--later-stage-schedules")
        if args.input_size is not None:
            input_shape = _input_size(args.input_size)
    else:
        given = [flag for flag, value in segmenter_flags.items() if value is not None]
        if given:
            raise ValueError(f"{given[0]} applies to segmenters (deeplab_aspp) only, not {args.model}.")
    space = family.make_space(**fields)
    constraints = Constraints(
        gridding_free=args.gridding_free,
        min_receptive_field=args.min_receptive_field,
        max_params=args.max_params,
        max_macs=args.max_macs,
    )
    role = "chief" if args.chief else "worker" if args.worker else "local"

    family.check_space(space, input_shape and input_shape + family.input_shape[2:])  # before TensorFlow loads
    if args.reevaluate_top is not None and role != "local":
        raise ValueError("--reevaluate-top runs after a local search; run it once the distributed search is done, "
                         "without --chief or --worker.")
    if args.reevaluate_top is not None and args.reevaluate_top < 1:
        raise ValueError(f"--reevaluate-top must be 1 or more, got {args.reevaluate_top}.")
    if args.reevaluate_epochs is not None and args.reevaluate_epochs < 1:
        raise ValueError(f"--reevaluate-epochs must be 1 or more, got {args.reevaluate_epochs}.")
    seeds = _int_list(args.seeds, "--seeds")
    try:
        return _run(args, space, constraints, lr_range, input_shape, role, seeds)
    except (ValueError, FileNotFoundError) as e:
        raise as_flags(e) from None


#: Flags passed to ``search`` under their own names.
_SEARCH_ARGUMENTS = ("tuner", "max_trials", "epochs", "data", "limit", "validation_size", "batch_size", "learning_rate",
                     "augment", "seed", "overwrite", "hyperband_factor", "verbose")


def _run(args, space, constraints, lr_range, input_shape, role, seeds):
    from kerasdil._cli._scenes import scene_settings
    from kerasdil.tune.distributed import tuner_environment

    with tuner_environment(role, args.chief or args.worker, args.worker_id, rpc_timeout=args.rpc_timeout):
        from kerasdil.tune.tuners import search

        result = search(
            args.model, directory=args.dir, project_name=args.project_name, space=space, constraints=constraints,
            learning_rate_range=lr_range, input_shape=input_shape, role=role, lease_seconds=args.lease,
            heartbeat_seconds=args.heartbeat, data_options=_data_options(args), scenes=scene_settings(args),
            **{name: getattr(args, name) for name in _SEARCH_ARGUMENTS},
        )
    if result.role != "worker":
        done = sum(1 for s in result.trials.values() if s == "COMPLETED")
        print(f"{done} of {args.max_trials} trials completed in {result.project_dir}")
        if result.best:
            from kerasdil.tune.tuners import trial_name

            print(f"best: {trial_name(result.best['trial_id'])} {result.best['candidate']} "
                  f"{result.best['objective']} {result.best['score']:.4f} (one seed)")
        if args.reevaluate_top is not None:
            from kerasdil.tune.reevaluation import format_reevaluation, reevaluate

            again = reevaluate(result.project_dir, top=args.reevaluate_top, seeds=seeds,
                               epochs=args.reevaluate_epochs)
            print(format_reevaluation(again))
        print(f"report: kerasdil tune-report {args.dir}")
    else:
        print(f"worker {args.worker_id}: no more trials; done")
    return 0
