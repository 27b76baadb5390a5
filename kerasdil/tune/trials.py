"""The trials of a search as rows: what ``tune-report`` ranks and the re-evaluation picks from.

Beneath both :mod:`kerasdil.tune.report` and :mod:`kerasdil.tune.reevaluation`, which
each read the leaderboard (and the report shows the re-evaluation).
"""

from __future__ import annotations

import glob
import json
import os
from typing import Optional

from kerasdil.tune.constraints import FAMILIES, decode_candidate, decode_options, format_schedule
from kerasdil.tune.tuners import RUNS_FILE, load_search_file


def load_trials(project_dir: str, skipped: Optional[list] = None) -> list:
    """Every trial of a project as a dict (id, status, candidate, score, best_step, learning rate, runs).

    Args:
        skipped: a list to which each unreadable (truncated, corrupt) ``trial.json`` is
            appended as one sentence naming the trial and the file; when None, each
            is reported with a ``UserWarning`` instead. Never silently dropped.
    """
    out = []
    for path in sorted(glob.glob(os.path.join(project_dir, "trial_*", "trial.json"))):
        try:
            with open(path) as f:
                data = json.load(f)  # written whole or not at all by the search, so never half-written
            if not isinstance(data, dict) or "trial_id" not in data:
                raise ValueError("no trial_id")
        except (OSError, ValueError) as e:
            reason = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
            text = (f"{os.path.basename(os.path.dirname(path))} was skipped: {path} is unreadable ({reason}), so "
                    "this leaderboard may miss that trial; restore the file from a copy to report it")
            if skipped is None:
                import warnings

                warnings.warn(text + ".", stacklevel=2)
            else:
                skipped.append(text)
            continue
        values = data.get("hyperparameters", {}).get("values", {})
        runs_path = os.path.join(os.path.dirname(path), RUNS_FILE)
        runs = 0
        if os.path.isfile(runs_path):
            with open(runs_path) as f:
                runs = sum(1 for line in f if line.strip())
        out.append({
            "trial_id": data["trial_id"],
            "status": data.get("status"),
            "candidate": values.get("candidate"),
            "learning_rate": values.get("learning_rate"),
            "epochs": values.get("tuner/epochs"),
            "score": data.get("score"),
            "best_step": data.get("best_step"),
            "runs": runs,
            "dir": os.path.dirname(path),
        })
    return out


def _gridding_text(c) -> str:
    """"free", or "grids in s3,s4" (the stages whose rates fail the HDC rule or the coverage map)."""
    if not c:
        return "?"
    if c["gridding_free"]:
        return "free"
    bad = [f"s{i + 1}" for i, (cov, hdc) in enumerate(zip(c["stage_gridding_free"], c["stage_hdc_gridding_free"]))
           if not cov or hdc is False]
    return "grids in " + ",".join(bad) if bad else "grids"


def leaderboard(project_dir: str, skipped: Optional[list] = None) -> list:
    """Completed trials, best score first, each with the candidate's measurements.

    ``skipped``: as :func:`load_trials` takes it.
    """
    info = load_search_file(project_dir)
    measured = {c["key"]: c for c in info["candidates"]}
    family = FAMILIES.get(info["settings"]["model"])
    rows = []
    for trial in load_trials(project_dir, skipped):
        if trial["status"] != "COMPLETED" or trial["score"] is None or trial["candidate"] is None:
            continue
        c = measured.get(trial["candidate"])
        if c is None and family is not None:
            c = family.measure_key(trial["candidate"], tuple(info["settings"]["input_shape"]),
                                   info["settings"]["num_classes"]).to_dict()
        schedule, width = decode_candidate(trial["candidate"])
        options = decode_options(trial["candidate"])
        rows.append({
            **trial,
            "schedule": format_schedule(schedule),
            "width": width,
            **{name: ",".join(map(str, v)) if isinstance(v, tuple) else v for name, v in options.items()},
            "receptive_field": c["receptive_field"][0] if c else None,
            "gridding": _gridding_text(c),
            "model_gridding_free": c["model_gridding_free"] if c else None,
            "params": c["params"] if c else None,
            "macs": c["macs"] if c else None,
        })
    rows.sort(key=lambda r: (-r["score"], r["params"] or 0, r["trial_id"]))
    return rows
