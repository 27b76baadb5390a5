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


def run(args):
    """Run ``kerasdil tune-report``; returns the exit code."""
    if args.top < 1:
        raise ValueError(f"--top must be 1 or more, got {args.top}.")
    from kerasdil.tune.report import make_report

    report = make_report(args.dir, out_dir=args.out, project_name=args.project_name, export=not args.no_export,
                         top=args.top)
    print(report["markdown"])
    print(f"leaderboard: {report['leaderboard_md']} (all rows: {report['leaderboard_csv']})")
    print(f"Pareto plot: {report['pareto_png']}")
    if "best_keras" in report:
        best = report["rows"][0]
        print(f"best model:  {report['best_keras']} (trial_{best['trial_id']}, weights of its best epoch, not retrained)")
    for text in report.get("skipped", ()):
        print(f"kerasdil tune-report: warning: {text}.", file=sys.stderr)
    return 1 if report.get("skipped") else 0
