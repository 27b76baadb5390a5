"""Re-evaluation of a search's best candidates over several seeds, against the zoo default.

One trial is one training run with one seed: its score mixes the candidate's
quality with the luck of the initialisation and the data order. :func:`reevaluate`
takes the ``top`` best distinct candidates of a finished (or interrupted)
search, adds the zoo's default (``create_model(model)`` with the builder's
defaults, whatever they are when it runs), retrains each from scratch once per
seed with the search's recipe (data, limit, batch size, learning rate) for
``epochs`` epochs, and scores it with the search's objective on the search's
validation split. The test set never chooses: where the user's data has a test
split, each run's test score is recorded beside (``test_runs``) and reported
next to the verdict, which reads the validation scores only.

Results go to ``kerasdil_reevaluation.json`` in the project folder, rewritten
(temporary name, rename) after every run, so an interrupted re-evaluation
resumes where it stopped when called again with the same settings.
:func:`summarize` turns the runs into mean and range per candidate and the
verdict: the winner (best mean among the searched candidates) beats the default
only when its worst seed scores above the default's best seed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Optional, Sequence

from kerasdil.tune.constraints import FAMILIES, decode_candidate, decode_options, format_schedule
from kerasdil.tune.tuners import _write_json, find_project, load_search_file, trial_name, zoo_default


#: Re-evaluation runs, inside the keras-tuner project folder.
REEVALUATION_FILE = "kerasdil_reevaluation.json"
#: The label of the zoo default in the re-evaluation.
DEFAULT_LABEL = "zoo default"


@dataclasses.dataclass
class ReevaluationResult:
    """What :func:`reevaluate` measured.

    Attributes:
        project_dir: the search's project folder.
        rows: one dict per candidate (the default included): ``label``,
            ``trial_id`` (None for the default), ``candidate``, ``schedule``,
            ``width``, ``params``, ``macs``, ``search_score``, ``scores``
            (seed -> score), ``mean``, ``min``, ``max``, ``n`` and the same with a
            ``test_`` prefix for the data's test split (``test_n`` 0 without one);
            searched candidates by mean, best first, then the default.
        verdict: one sentence: does the winner beat the default with
            non-overlapping ranges? Then, with a test split, a second one on the test scores.
        beats_default: True only for non-overlapping ranges in the winner's favour.
        settings: epochs, seeds, objective and the search's recipe.
        path: the JSON file.
    """

    project_dir: str
    rows: list
    verdict: str
    beats_default: bool
    settings: dict
    path: str


def load_reevaluation(project_dir: str) -> Optional[dict]:
    """The re-evaluation file of a project folder, or None when there is none (or it cannot be read)."""
    path = os.path.join(project_dir, REEVALUATION_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def _parse_seeds(seeds) -> tuple:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = (seeds,)
    try:
        out = tuple(int(s) for s in seeds)
    except (TypeError, ValueError):
        out = ()
    if not out or any(s < 0 for s in out) or len(set(out)) != len(out):
        raise ValueError(f"seeds= must be distinct ints >= 0 such as (0, 1, 2), got {seeds!r}.")
    return out


def _train_once(entry, seed, s, epochs, data, log):
    """Train one candidate (or the zoo default) from scratch with one seed: (validation score, params, test score)."""
    import keras

    from kerasdil.optimizers import Adam
    from kerasdil.tasks import get_task
    from kerasdil.tune._search import _search_datasets
    from kerasdil.tune._search_data import _user_data
    from kerasdil.tune.hypermodels import ScheduleHyperModel
    from kerasdil.zoo import create_model, model_info

    family = FAMILIES[s["model"]]
    info = model_info(family.model_name)
    input_shape = tuple(s["input_shape"])
    keras.utils.set_random_seed(seed)
    if data is not None:
        (train, val), test = data, None
    else:  # the search's own data: the user's (images, masks, series, with their test split), scenes or MNIST
        # The search's seed draws the validation split (the search's own); the run's seed only the order.
        user_data = _user_data(s["data"], s.get("data_options"), family, info, input_shape, s.get("seed", 0))
        train, val, test = _search_datasets(family, info, user_data, None, input_shape, s["data"], s["limit"],
                                            s["validation_size"], s["batch_size"], seed, s["augment"],
                                            s.get("scenes"), "reevaluation", None, lambda _: None, with_test=True)
    if entry["candidate"] is None:
        model = create_model(family.model_name, input_shape=input_shape, num_classes=s["num_classes"],
                             **family.default_builder_kwargs())
    else:
        hypermodel = ScheduleHyperModel(family, [entry["candidate"]], input_shape=input_shape,
                                        num_classes=s["num_classes"], learning_rate=s["learning_rate"])
        model = hypermodel.build_model(entry["candidate"])
    task = get_task(family.task)
    lr = entry.get("learning_rate") or s["learning_rate"]
    model.compile(optimizer=Adam(lr), loss=task.loss(), metrics=task.metrics())
    start = time.monotonic()
    model.fit(train, epochs=epochs, verbose=0, shuffle=False)  # the pipeline shuffles
    metric = s["objective"][len("val_"):] if s["objective"].startswith("val_") else s["objective"]
    score = float(model.evaluate(val, verbose=0, return_dict=True)[metric])
    test_score = None if test is None else float(model.evaluate(test, verbose=0, return_dict=True)[metric])
    log(f"  {entry['label']} seed {seed}: {s['objective']} {score:.4f}"
        + ("" if test_score is None else f", test {metric} {test_score:.4f}")
        + f" ({time.monotonic() - start:.0f} s)")
    return score, int(model.count_params()), test_score


def _entries(project_dir, info, top):
    from kerasdil.tune.trials import leaderboard

    rows = leaderboard(project_dir)
    if not rows:
        raise FileNotFoundError(f"{project_dir!r} has no completed trial yet; nothing to re-evaluate.")
    entries, seen = [], set()
    for r in rows:  # best first; a candidate that Hyperband trained in several rounds counts once
        if r["candidate"] in seen:
            continue
        seen.add(r["candidate"])
        entries.append({"label": trial_name(r["trial_id"]), "trial_id": r["trial_id"], "candidate": r["candidate"],
                        "learning_rate": r["learning_rate"], "search_score": r["score"], "params": r["params"],
                        "macs": r["macs"], "schedule": r["schedule"], "width": r["width"]})
        if len(entries) == top:
            break
    s = info["settings"]
    d = zoo_default(s["model"], tuple(s["input_shape"]), s["num_classes"])
    entries.append({"label": DEFAULT_LABEL, "trial_id": None, "candidate": None, "learning_rate": None,
                    "search_score": None, "params": d["params"], "macs": d["macs"],
                    "schedule": format_schedule(d["schedule"]), "width": d["width"], "default_key": d["key"],
                    "differs": d.get("differs") or {}})
    return entries


def summarize(record: dict) -> ReevaluationResult:
    """Mean and range per candidate and the verdict, from a re-evaluation record (the JSON file's content)."""
    seeds = record["settings"]["seeds"]
    rows = []
    for entry in record["entries"]:
        row = dict(entry)
        for prefix, runs in (("", record["runs"]), ("test_", record.get("test_runs", {}))):
            scores = {int(k): v for k, v in runs.get(entry["label"], {}).items()}
            values = [scores[k] for k in seeds if k in scores]
            row.update({prefix + "scores": scores, prefix + "n": len(values),
                        prefix + "mean": sum(values) / len(values) if values else None,
                        prefix + "min": min(values) if values else None,
                        prefix + "max": max(values) if values else None})
        rows.append(row)
    searched = sorted((r for r in rows if r["candidate"] is not None and r["n"]), key=lambda r: -r["mean"])
    searched += [r for r in rows if r["candidate"] is not None and not r["n"]]
    default = next(r for r in rows if r["candidate"] is None)
    rows = searched + [default]
    objective = record["settings"]["objective"]
    winner = searched[0] if searched and searched[0]["n"] else None
    beats = False
    if winner is None or not default["n"]:
        verdict = "not enough runs yet to compare the winner with the zoo default."
    else:
        partial = winner["n"] < len(seeds) or default["n"] < len(seeds)
        w, d = winner, default
        text = (f"{w['label']} ({w['schedule']}, width {w['width']}) {objective} mean {w['mean']:.4f} "
                f"[{w['min']:.4f}, {w['max']:.4f}] vs the zoo default mean {d['mean']:.4f} "
                f"[{d['min']:.4f}, {d['max']:.4f}] over {w['n']} and {d['n']} seed(s)")
        if w["min"] > d["max"]:
            beats = not partial and w["n"] >= 2
            verdict = (f"{text}: the ranges do not overlap; the winner beats the default"
                       + ("" if beats else " so far (not every seed has run, or only one seed)") + ".")
        elif w["max"] < d["min"]:
            verdict = f"{text}: the ranges do not overlap; the default beats the winner."
        else:
            verdict = f"{text}: the ranges overlap; the search did not separate the winner from the default."
        if winner["test_n"] and default["test_n"]:
            w, d = winner, default
            side = ("the winner's above" if w["test_min"] > d["test_max"] else "the default's above"
                    if w["test_max"] < d["test_min"] else "they overlap")
            verdict += (f" On the test split (never used to choose): winner mean {w['test_mean']:.4f} "
                        f"[{w['test_min']:.4f}, {w['test_max']:.4f}] vs default {d['test_mean']:.4f} "
                        f"[{d['test_min']:.4f}, {d['test_max']:.4f}] over {w['test_n']} and {d['test_n']} seed(s): "
                        f"{side}.")
    return ReevaluationResult(record["project_dir"], rows, verdict, beats, record["settings"],
                              os.path.join(record["project_dir"], REEVALUATION_FILE))


def _schedule_text(row) -> str:
    """The row's schedule with the segmenter options its key carries (ASPP rates, output stride)."""
    key = row.get("candidate") or row.get("default_key")
    options = decode_options(key) if key else {}
    extra = []
    if "aspp_rates" in options:
        extra.append("ASPP " + ",".join(map(str, options["aspp_rates"])))
    if "output_stride" in options:
        extra.append(f"OS {options['output_stride']}")
    return row["schedule"] + ("".join(f", {e}" for e in extra))


def _span(row, prefix="") -> str:
    """``mean | [min, max]`` table cells of a row's scores (``prefix`` "test_": its test scores)."""
    if row[prefix + "mean"] is None:
        return "- | -"
    return f"{row[prefix + 'mean']:.4f} | [{row[prefix + 'min']:.4f}, {row[prefix + 'max']:.4f}]"


def format_reevaluation(result: ReevaluationResult) -> str:
    """The re-evaluation as a markdown table and its verdict."""
    s = result.settings
    seeds = s["seeds"]
    tested = any(r.get("test_n") for r in result.rows)  # the user's data had a test split
    lines = [f"## Re-evaluation over seeds {','.join(map(str, seeds))}", "",
             f"Each candidate retrained from scratch per seed for {s['epochs']} epoch(s) with the search's recipe; "
             f"score = {s['objective']} on the search's validation split, "
             + ("which alone decides; the test columns score the data's test split and choose nothing. " if tested
                else "never the test set. ")
             + "Range = [lowest, highest] seed.", "",
             "| candidate | schedule | width | params | MACs | search score (1 seed) | "
             + " | ".join(f"seed {k}" for k in seeds) + " | mean | range |" + (" test mean | test range |" * tested),
             "|---|---|---:|---:|---:|---:|" + "---:|" * len(seeds) + "---:|---|" + "---:|---|" * tested]
    for r in result.rows:
        cells = " | ".join("" if k not in r["scores"] else f"{r['scores'][k]:.4f}" for k in seeds)
        search_score = "-" if r["search_score"] is None else f"{r['search_score']:.4f}"
        spans = " | ".join(_span(r, prefix) for prefix in ("", "test_")[:1 + tested])
        lines.append(f"| {r['label']} | {_schedule_text(r)} | {r['width']} | {r['params']:,} | {r['macs']:,} | "
                     f"{search_score} | {cells} | {spans} |")
    default = result.rows[-1]
    if default.get("differs"):
        lines += ["", "The zoo default also sets " + ", ".join(f"{k}={v!r}" for k, v in default["differs"].items())
                  + ", which the search space does not vary; its MACs are the search family's layout and its "
                    "params and scores are of the built zoo default."]
    lines += ["", result.verdict]
    return "\n".join(lines) + "\n"


def reevaluate(directory: str, *, top: int = 2, seeds: Sequence[int] = (0, 1, 2), epochs: Optional[int] = None,
               project_name: Optional[str] = None, train_data=None,
               log: Callable[[str], None] = print) -> ReevaluationResult:
    """Retrain the ``top`` best candidates of a search and the zoo default once per seed; compare them.

    Args:
        directory: the search folder (``directory=`` of :func:`kerasdil.tune.search`) or its project folder.
        top: how many of the best distinct candidates to retrain (>= 1).
        seeds: training seeds (initialisation and data order), e.g. ``(0, 1, 2)``.
        epochs: epochs per run; default the search's ``epochs`` (Hyperband: its most epochs).
        project_name: which project, when ``directory`` holds several.
        train_data: optional ``(train_ds, val_ds)`` instead of the search's data.
        log: progress lines.

    Returns:
        ReevaluationResult (also written to ``kerasdil_reevaluation.json``).

    Raises:
        FileNotFoundError: no search, or no completed trial.
        ValueError: bad ``top``, ``seeds`` or ``epochs``, or a re-evaluation
            file made with other settings (delete it to start afresh).

    Example:
        >>> result = reevaluate("runs/tune", top=2, seeds=(0, 1, 2), epochs=2)    # doctest: +SKIP
        >>> print(result.verdict)                                                 # doctest: +SKIP
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top= must be a positive int, got {top!r}.")
    seeds = _parse_seeds(seeds)
    project_dir = find_project(directory, project_name)
    info = load_search_file(project_dir)
    s = info["settings"]
    if epochs is None:
        epochs = int(s["epochs"])
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs= must be a positive int, got {epochs!r}.")
    settings = {"top": top, "seeds": list(seeds), "epochs": epochs, "objective": s["objective"],
                "search": {k: s[k] for k in ("model", "data", "limit", "validation_size", "batch_size",
                                               "learning_rate", "augment")}}
    path = os.path.join(project_dir, REEVALUATION_FILE)
    record = load_reevaluation(project_dir)
    if record is not None and record.get("settings") != settings:
        raise ValueError(f"{path!r} holds a re-evaluation made with other settings (top, seeds or epochs differ); "
                         "delete it to start afresh, or call again with the same settings to resume it.")
    if record is None:
        record = {"project_dir": project_dir, "settings": settings, "entries": _entries(project_dir, info, top),
                  "runs": {}}
        _write_json(path, record)
    record["project_dir"] = project_dir
    log(f"re-evaluating {len(record['entries']) - 1} candidate(s) and the zoo default over seeds "
        f"{','.join(map(str, seeds))}, {epochs} epoch(s) each")
    for entry in record["entries"]:
        done = record["runs"].setdefault(entry["label"], {})
        for seed in seeds:
            if str(seed) in done:
                continue
            score, params, test_score = _train_once(entry, seed, s, epochs, train_data, log)
            if entry["candidate"] is None:
                entry["params"] = params  # the built zoo default's count, whatever its layout
            done[str(seed)] = score
            if test_score is not None:  # reported beside the verdict, never used to choose
                record.setdefault("test_runs", {}).setdefault(entry["label"], {})[str(seed)] = test_score
            _write_json(path, record)
    return summarize(record)
