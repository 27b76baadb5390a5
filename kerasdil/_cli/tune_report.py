"""``kerasdil tune-report DIR``: leaderboard, Pareto plot and best model of a schedule search.

Exits 1, after writing the report of the readable trials, when a ``trial.json`` was
unreadable: the leaderboard may then miss a trial, and a script must not take it
for the whole search. The warning names each skipped trial.
"""

import sys


def add_arguments(parser):
    """Add the ``tune-report`` arguments to an argparse (sub)parser."""
    parser.add_argument("dir", help="the search folder (--dir of kerasdil tune)")
    parser.add_argument("--project-name", default=None, help="which search, when DIR holds several")
    parser.add_argument("--out", default=None, help="folder for the report files (default: the search's folder)")
    parser.add_argument("--top", type=int, default=20, help="rows to print (default 20; the files hold all)")
    parser.add_argument("--no-export", action="store_true", help="do not write best.keras")
    parser.add_argument("--chance-margin", type=float, default=None,
                        help="how far above 1/num_classes a score still counts as chance (default 0.1)")
    parser.add_argument("--noise", type=float, default=None,
                        help="noise band (a score difference) to use when the search was not re-evaluated "
                             "over seeds (default: the validation split's sampling noise)")


#: Python argument names in the library's messages -> this command's flags.
FLAGS = {"directory=": "DIR", "project_name=": "--project-name", "noise=": "--noise",
         "chance_margin=": "--chance-margin", "out_dir=": "--out"}


def run(args):
    """Run ``kerasdil tune-report``; returns the exit code."""
    if args.top < 1:
        raise ValueError(f"--top must be 1 or more, got {args.top}.")
    from kerasdil._cli.tune import as_flags
    from kerasdil.tune.report import CHANCE_MARGIN, make_report
    from kerasdil.tune.tuners import trial_name

    margin = CHANCE_MARGIN if args.chance_margin is None else args.chance_margin
    try:
        report = make_report(args.dir, out_dir=args.out, project_name=args.project_name, export=not args.no_export,
                             top=args.top, chance_margin=margin, noise=args.noise)
    except (ValueError, FileNotFoundError) as e:
        raise as_flags(e, FLAGS) from None
    print(report["markdown"])
    print(f"leaderboard: {report['leaderboard_md']} (all rows: {report['leaderboard_csv']})")
    print(f"Pareto plot: {report['pareto_png']}" + ("" if report["pareto"] else " (no front drawn; see the warning)"))
    if "best_keras" in report:
        best = report["rows"][0]
        print(f"best model:  {report['best_keras']} ({trial_name(best['trial_id'])}, weights of its best epoch, "
              "not retrained)")
    for text in report.get("skipped", ()):
        print(f"kerasdil tune-report: warning: {text}.", file=sys.stderr)
    return 1 if report.get("skipped") else 0
