"""Command line interface: ``kerasdil <command> ...``.

A thin shell over the library. Each command lives in ``kerasdil/_cli/<name>.py``
with two functions, ``add_arguments(parser)`` and ``run(args) -> int``, and is
imported only when it is used, so ``kerasdil rf`` never imports TensorFlow.
"""

import argparse
import importlib
import sys

from kerasdil._cli import _quiet

# command name -> (module under kerasdil._cli, one-line help)
COMMANDS = {
    "train": ("train", "train a zoo model (resumes after interruption)"),
    "evaluate": ("evaluate", "evaluate a saved model on a data set"),
    "finetune": ("finetune", "fine-tune a zoo model from pretrained weights"),
    "tune": ("tune", "search dilation schedules with keras-tuner"),
    "tune-report": ("tune_report", "leaderboard, Pareto plot and best model of a search"),
    "export": ("export", "export a .keras model to SavedModel / TFLite / ONNX with proof"),
    "rf": ("rf", "receptive field and gridding analysis of a dilation schedule"),
    "zoo": ("zoo", "list the zoo or show one entry"),
}

# Commands that answer without TensorFlow (so without its load-time logging).
LIGHT_COMMANDS = ("rf", "zoo")


class _Error(Exception):
    pass


def build_parser(only=None):
    parser = argparse.ArgumentParser(
        prog="kerasdil",
        description="Dilated and depthwise-separable dilated convolution model zoo for Keras.",
    )
    from kerasdil import __version__

    parser.add_argument("--version", action="version", version=f"kerasdil {__version__}")
    parser.add_argument("--verbose", action="store_true", dest="cli_verbose",
                        help="show TensorFlow's and the converters' own logging (hidden by default); "
                             "give it before the command")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            mod = importlib.import_module(f"kerasdil._cli.{module}")
            mod.add_arguments(p)
            p.set_defaults(_module=mod)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # Import only the module of the command being run (keeps `kerasdil rf` light).
    first = next((i for i, a in enumerate(argv) if a != "--verbose"), len(argv))
    verbose = "--verbose" in argv[:first]
    only = argv[first] if first < len(argv) and argv[first] in COMMANDS else None
    if only is None and first < len(argv) and not argv[first].startswith("-"):
        build_parser(only="__none__").print_usage(sys.stderr)
        print(f"kerasdil: error: unknown command {argv[first]!r}; choose from {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    _quiet.setup(verbose)
    parser = build_parser(only=only if only else "__none__")
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    if args.command not in LIGHT_COMMANDS:
        _quiet.import_tensorflow(verbose)
    _exit_cleanly_on_sigterm()
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("kerasdil: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError, KeyError) as e:
        # User mistakes arrive here as one clear sentence; no deep traceback.
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"kerasdil {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except OSError as e:  # the machine, not the arguments: a full disk, a vanished mount
        where = f" ({e.filename})" if e.filename else ""
        print(f"kerasdil {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2


def _exit_cleanly_on_sigterm():
    """Turn SIGTERM (``kill``, a job scheduler's stop) into SystemExit(143) in the main thread.

    Python's default for SIGTERM ends the process at once, skipping ``finally`` blocks, so an
    export would leave its staging folder and a training run its partial files. As an
    exception it unwinds like Ctrl-C does: staging folders are removed, and an interrupted
    training run resumes from its last backup when the same command is run again.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def terminate(signum, frame):
        print("kerasdil: terminated", file=sys.stderr)
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, terminate)


if __name__ == "__main__":
    sys.exit(main())
