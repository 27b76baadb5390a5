"""What `kerasdil train` and `kerasdil finetune` share: their common flags and the run-engine arguments they set."""

import argparse

from kerasdil._cli._data import data_options, progress_verbosity


def _json_object_arg(text, example):
    """Parse an argparse value that must be a JSON object; ``example`` goes into the error."""
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON ({e.msg}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object such as '{example}', got {text!r}")
    return value


def model_kwargs_arg(text):
    """argparse type of ``--model-kwargs``: a JSON object of builder arguments."""
    return _json_object_arg(text, '{"input_shape": [64, 84, 1], "output_stride": 4}')


def add_batch_size_argument(p):
    """``--batch-size``: examples per optimizer step, default the recipe's."""
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="examples per optimizer step (default the recipe's)")


def add_run_arguments(p, *, model_kwargs_help):
    """``--limit``, ``--seed`` and ``--model-kwargs`` (described by ``model_kwargs_help``), the same for both verbs."""
    p.add_argument("--limit", type=int, default=None, help="use only the first N training and test examples")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the weights' initialisation, shuffling, augmentation and validation split (default 0)")
    p.add_argument("--model-kwargs", type=model_kwargs_arg, default=None, metavar="JSON", help=model_kwargs_help)


def add_quiet_argument(p):
    """``--quiet``: one line per epoch instead of a progress bar."""
    p.add_argument("--quiet", action="store_true",
                   help="one line per epoch instead of a progress bar (the default when the output is not a terminal)")


def run_arguments(args):
    """The keyword arguments of ``kerasdil.train.train`` and ``kerasdil.finetune.finetune`` that both verbs' flags
    set the same way: epochs, batch size, learning rate, data and its options, limit, seed, builder arguments,
    progress output."""
    return dict(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, data=args.data,
                limit=args.limit, seed=args.seed, model_kwargs=args.model_kwargs, data_options=data_options(args),
                verbose=progress_verbosity(args.quiet))
