"""Reports of a schedule search: leaderboard, Pareto plot, best model as ``.keras``.

:func:`make_report` is the library form of ``kerasdil tune-report DIR``. It reads
only files: keras-tuner's ``trial_*/trial.json`` and kerasdil's
``kerasdil_search.json``, so it works on a finished, interrupted or still
running search, local or distributed.

Outputs (in ``out_dir``, default the project folder; each written to a
temporary name and renamed):

- ``leaderboard.md`` and ``leaderboard.csv``: one row per completed trial, best
  first: schedule per stage, width (for deeplab_aspp also the ASPP rates and
  the output stride), receptive field, gridding verdict, parameters, MACs,
  score (the objective: ``val_accuracy`` on the validation split carved from
  the training set for mnist_dsdc, ``val_mean_iou`` on validation scenes for
  deeplab_aspp) and epochs;
- ``pareto.png``: score against parameters, the Pareto front (no other trial
  has as few parameters and a higher score, and each step up the front gains
  more than the noise band) drawn and labelled, and the zoo default's
  parameter count marked;
- ``best.keras``: the best trial's model with the weights of its best epoch,
  as saved during the search (``checkpoint.weights.h5``; not retrained). It
  loads with plain ``keras.models.load_model(path, safe_mode=True)``.

Noise
-----
A trial's score is one training run with one seed. Where the search was
re-evaluated (:func:`kerasdil.tune.reevaluation.reevaluate`), each re-evaluated
candidate's row carries its mean and range over seeds, and the widest range is
the noise band; otherwise the band is the sampling noise of the validation
split alone (two binomial standard errors of the best score, a floor: seeds
add more) or the ``noise`` given. The report warns, and then draws no Pareto
front and stars no trial, when the best score sits at chance (at most
``1/num_classes + chance_margin``, or within the noise band of chance; a
constant prediction scores at most ``1/num_classes`` accuracy or mIoU) or when
all scores lie within the noise band of each other. Trials at chance never
enter the front.

The hand-designed default in the report is the zoo's default as
``create_model(model)`` builds it when the report is made
(:func:`kerasdil.tune.tuners.zoo_default`), not a copy kept in the search.
"""

from __future__ import annotations

import csv
import io
import math
import os
from typing import Optional

from kerasdil.tune.constraints import FAMILIES, decode_candidate, decode_options, format_schedule, pareto_front
from kerasdil.tune.tuners import RUNS_FILE, find_project, load_search_file, trial_name
from kerasdil.io import write_text_atomic
from kerasdil.tune.trials import _gridding_text, leaderboard, load_trials  # noqa: F401  (public here too)


#: How far above chance (1/num_classes) a score still counts as chance.
CHANCE_MARGIN = 0.1


def _validation_images(info):
    """How many validation images scored each trial (classifier), or None when unknown."""
    count = info.get("validation_images")
    return int(count) if count else None


def _reevaluated(project_dir):
    """The re-evaluation summary of a project (mean and range per candidate), or None."""
    from kerasdil.tune.reevaluation import load_reevaluation, summarize

    record = load_reevaluation(project_dir)
    if record is None or not record.get("runs"):
        return None
    record["project_dir"] = project_dir
    return summarize(record)


_NO_NOISE = "no seed spread measured and no noise given"


def noise_check(rows, info, reevaluation=None, *, chance_margin: float = CHANCE_MARGIN,
                noise: Optional[float] = None) -> dict:
    """Which scores are at chance, how wide the noise band is, and the Pareto front that survives both.

    Args:
        rows: leaderboard rows (best first).
        info: the search file's content.
        reevaluation: a :class:`kerasdil.tune.reevaluation.ReevaluationResult`, or None.
        chance_margin: how far above ``1/num_classes`` still counts as chance.
        noise: the noise band to use when no seed spread was measured.

    Returns:
        dict: ``chance`` (the level), ``band`` and ``band_source`` (words),
        ``at_chance`` (trial ids), ``front`` (row indices on the noise-aware
        Pareto front; empty when the report must not draw one) and
        ``warnings`` (sentences).

    Example:
        >>> noise_check(rows, info)["warnings"]          # doctest: +SKIP
        ['every trial scored at chance ...']
    """
    s = info["settings"]
    chance = 1.0 / int(s["num_classes"])
    warnings = []
    band, source = 0.0, _NO_NOISE
    spreads = [r["max"] - r["min"] for r in (reevaluation.rows if reevaluation else []) if r["n"] >= 2]
    if spreads:
        band = max(spreads)
        source = (f"the widest seed range of the re-evaluation ({len(spreads)} candidates, "
                  f"{len(reevaluation.settings['seeds'])} seeds)")
    elif noise is not None:
        band, source = float(noise), "the noise given"
    elif rows and _validation_images(info) and s.get("objective") == "val_accuracy":
        p, n = rows[0]["score"], _validation_images(info)
        band = 2 * math.sqrt(max(p * (1 - p), 1.0 / n) / n)
        source = (f"two binomial standard errors on {n:,} validation images (a floor: the seed spread, "
                  "not measured, adds to it)")
    at_chance = {r["trial_id"] for r in rows if r["score"] <= chance + max(chance_margin, band)}
    live = [i for i, r in enumerate(rows) if r["trial_id"] not in at_chance]
    budgets = {r.get("epochs") for r in rows if r.get("epochs") is not None}
    if len(budgets) > 1:
        # Hyperband: a trial stopped early is not comparable with one trained to the end.
        live = [i for i in live if rows[i].get("epochs") == max(budgets)]
        warnings.append(f"trials ran {', '.join(map(str, sorted(budgets)))} epochs (Hyperband's brackets); only the "
                        f"{len(live)} trained for {max(budgets)} epochs enter the Pareto front.")
    front = []
    if rows and len(at_chance) == len(rows):
        warnings.append(f"every trial scored at chance ({s['objective']} <= {chance + max(chance_margin, band):.3f}; "
                        f"chance is {chance:.3f}): the models did not learn at this budget, so the ranking is noise. "
                        "Train longer (more epochs or images) before reading anything into it.")
    else:
        if at_chance:
            warnings.append(f"{len(at_chance)} of {len(rows)} trials scored at chance "
                            f"(<= {chance + max(chance_margin, band):.3f}); they are left out of the Pareto front.")
        scores = [rows[i]["score"] for i in live]
        if live and source == _NO_NOISE:
            warnings.append(f"no noise estimate for {s['objective']} (one seed per trial): rerun with "
                            "--reevaluate-top K --seeds 0,1,2 (Python: reevaluate()) to measure the seed spread; "
                            "until then no Pareto front is drawn and no trial is starred.")
        elif len(live) >= 2 and max(scores) - min(scores) <= band:
            warnings.append(f"all {len(live)} scores above chance lie within {max(scores) - min(scores):.4f} of "
                            f"each other, inside the noise band {band:.4f} ({source}): the search did not separate "
                            "them, so no Pareto front is drawn and no trial is starred.")
        else:
            points = [(rows[i]["params"], rows[i]["score"]) for i in live]
            kept, last = [], None
            for j in sorted(pareto_front(points), key=lambda j: points[j][0]):
                # A step up the front counts only when it gains more than the noise band.
                if last is None or points[j][1] > last + band:
                    kept.append(live[j])
                    last = points[j][1]
            front = kept
    return {"chance": chance, "band": band, "band_source": source, "at_chance": at_chance, "front": front,
            "warnings": warnings}


def _spread_text(row, reevaluation):
    if reevaluation is None:
        return "1 seed"
    for r in reevaluation.rows:
        if r["candidate"] == row["candidate"] and r["n"]:
            return f"{r['mean']:.4f} [{r['min']:.4f}, {r['max']:.4f}] ({r['n']} seeds)"
    return "1 seed"


_COLUMNS = ("rank", "trial_id", "schedule", "width", "receptive_field", "gridding", "params", "macs", "score",
            "epochs", "learning_rate")
#: Extra columns, after the width, for families with options: (row key, markdown header).
_OPTION_COLUMNS = (("aspp_rates", "ASPP rates"), ("output_stride", "output stride"))


def _option_columns(info):
    family = FAMILIES.get(info["settings"]["model"])
    names = [name for name, _ in family.default_options] if family is not None else []
    return [(key, header) for key, header in _OPTION_COLUMNS if key in names]


def _markdown(rows, info, pareto_ids, check=None, reevaluation=None, default=None) -> str:
    extra = _option_columns(info)
    family = FAMILIES.get(info["settings"]["model"])
    lines = _intro_lines(rows, info, extra, family)
    lines += _table_lines(rows, info, extra, pareto_ids, check, reevaluation)
    lines += _default_lines(info, extra, family, default)
    if reevaluation is not None:
        from kerasdil.tune.reevaluation import format_reevaluation

        lines += ["", format_reevaluation(reevaluation).rstrip("\n")]
    p = info["pruning"]
    lines += ["", f"Constraints: {p['raw']:,} raw candidates, {p['survivors']:,} searchable."]
    for name, n in p["removed_sequential"].items():
        lines.append(f"- {name}: removed {n:,} in sequence, {p['removed_individual'][name]:,} alone")
    return "\n".join(lines) + "\n"


def _intro_lines(rows, info, extra, family):
    """The leaderboard's title and the paragraph that says what its columns mean."""
    s = info["settings"]
    segmenter = bool(extra)
    what = ("validation scenes composed from digits held out of the training set" if segmenter
            else "validation images held out from the training set")
    look = s.get("scenes") or {}
    if segmenter:
        shape = s.get("input_shape") or [0, 0]
        names = {"scale_range": "digit scale", "digits_per_image": "digits"}
        what += f" ({shape[0]}x{shape[1]}" + "".join(
            f", {names[k]} {v[0]:g}-{v[1]:g}" if k in names else f", {k} {v}" for k, v in sorted(look.items())) + ")"
    first = family.first_stage if family is not None else 1
    stages = " / ".join(f"stage {i + first}"
                        for i in range(len((info.get("default") or {}).get("schedule") or [0, 0])))
    schedule_text = f"Schedule = dilation rates per stage ({stages})"
    if segmenter:
        schedule_text += (" at each stage's natural stride; stages past the output stride run them multiplied "
                          "(x2, x4), and the gridding verdict is taken on those rates. Receptive field = backbone "
                          "plus the widest ASPP branch")
    lines = [
        f"# Schedule search: {s['model']} ({s['tuner']}, objective {s['objective']})",
        "",
        f"{len(rows)} completed trials; score = {s['objective']} on "
        f"{info.get('validation_images') or s['validation_size'] or 'the default number of'} "
        f"{what} (never the test set). "
        f"{schedule_text}. Gridding: HDC rule and coverage map per stage. "
        "MACs per image (conv and dense layers). * = on the Pareto front (params vs score; each step up "
        "gains more than the noise band). Score = one run, one seed; seeds = mean [range] over the "
        "re-evaluation's seeds where measured.",
        "",
    ]
    return lines


def _table_lines(rows, info, extra, pareto_ids, check, reevaluation):
    """The chance and noise warnings, then one table row per trial."""
    s = info["settings"]
    lines = []
    if check is not None:
        lines += [f"> **Warning:** {w}" for w in check["warnings"]]
        lines += [f"Chance: {check['chance']:.3f}. Noise band: {check['band']:.4f} ({check['band_source']}).", ""]
    lines += [
        "| rank | trial | schedule | width | " + "".join(f"{h} | " for _, h in extra)
        + "receptive field | gridding | params | MACs | score | seeds | epochs | lr |",
        "|---:|---|---|---:|" + "---:|" * len(extra) + "---:|---|---:|---:|---:|---|---:|---:|",
    ]
    for i, r in enumerate(rows, 1):
        star = "*" if r["trial_id"] in pareto_ids else ""
        if check is not None and r["trial_id"] in check["at_chance"]:
            star = " (chance)"
        lr = s["learning_rate"] if r["learning_rate"] is None else r["learning_rate"]
        epochs = r["epochs"] if r["epochs"] is not None else s["epochs"]
        lines.append(
            f"| {i}{star} | {trial_name(r['trial_id'])} | {r['schedule']} | {r['width']} | "
            + "".join(f"{r.get(key, '')} | " for key, _ in extra)
            + f"{r['receptive_field']} | "
            f"{r['gridding']} | {r['params']:,} | {r['macs']:,} | {r['score']:.4f} | "
            f"{_spread_text(r, reevaluation)} | {epochs} | {lr:.3g} |"
        )
    return lines


def _default_lines(info, extra, family, default):
    """The hand-designed default the trials compare with (none when the search file has none)."""
    s = info["settings"]
    lines = []
    d = default if default is not None else info.get("default")
    differs = {}
    if d:
        differs = dict(d.get("differs") or {})
        if "dilation_schedule" in differs:  # the zoo's default lies outside the searched layout
            zoo_schedule, zoo_width = differs.pop("dilation_schedule"), differs.pop("width", None)
            lines += ["", f"Hand-designed default (the zoo's, as create_model({s['model']!r}) builds it): "
                          f"{format_schedule(tuple(tuple(r) for r in zoo_schedule))}, width {zoo_width}: outside the "
                          "layout this search varies"
                          + (f" ({', '.join(f'{k}={v!r}' for k, v in differs.items())})" if differs else "")
                          + f"; the searched layout's own default stands in for it: {format_schedule(d['schedule'])}, "
                          f"width {d['width']}, {d['params']:,} params, {d['macs']:,} MACs."]
            d = None
    if d:
        options = "".join(f", {header} {_text(d.get(key))}" for key, header in extra)
        source = (family.default_text if family is not None and family.default_text
                  else f"the zoo's, as create_model({s['model']!r}) builds it")
        lines += ["", f"Hand-designed default ({source}): "
                      f"{format_schedule(d['schedule'])}, width {d['width']}{options}: "
                      f"{d['params']:,} params, {d['macs']:,} MACs, receptive field {d['receptive_field'][0]}, "
                      f"{'gridding-free' if d['gridding_free'] else 'not gridding-free'}"
                      + (f"; it also sets {', '.join(f'{k}={v!r}' for k, v in differs.items())}, which the search "
                         "space does not vary (counts are for the searched layout)" if differs else "") + "."]
    return lines


def _text(value):
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def _csv(rows, info, reevaluation=None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    extra = [key for key, _ in _option_columns(info)]
    writer.writerow(_COLUMNS[:4] + tuple(extra) + _COLUMNS[4:] + ("seeds",))
    for i, r in enumerate(rows, 1):
        writer.writerow([i, trial_name(r["trial_id"]), r["schedule"], r["width"], *[r.get(key) for key in extra],
                         r["receptive_field"], r["gridding"],
                         r["params"], r["macs"], f"{r['score']:.6f}",
                         r["epochs"] if r["epochs"] is not None else info["settings"]["epochs"],
                         r["learning_rate"] if r["learning_rate"] is not None else info["settings"]["learning_rate"],
                         _spread_text(r, reevaluation)])
    return buf.getvalue()


def plot_pareto(rows, path: str, *, default_params: Optional[int] = None, title: Optional[str] = None,
                objective: str = "val_accuracy", front: Optional[list] = None, warning: Optional[str] = None) -> str:
    """Scatter of score against parameters with the Pareto front; written atomically (Agg, no display).

    ``front``: row indices to draw as the front (default: the plain Pareto
    front); an empty list draws none. ``warning``: a line printed on the plot
    (why no front is drawn).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    points = [(r["params"], r["score"]) for r in rows]
    front = pareto_front(points) if front is None else sorted(front, key=lambda i: points[i][0])
    ax.scatter([p[0] for p in points], [p[1] for p in points], s=22, color="#9aa5b1", label="trials", zorder=2)
    if front:
        fx = [points[i][0] for i in front]
        fy = [points[i][1] for i in front]
        ax.plot(fx, fy, "-o", color="#d62728", markersize=6, label="Pareto front", zorder=3, drawstyle="steps-post")
        for i in front:
            label = rows[i]["schedule"] + f" w{rows[i]['width']}"
            if rows[i].get("output_stride") is not None:
                label += f" aspp {rows[i]['aspp_rates']} os{rows[i]['output_stride']}"
            ax.annotate(label, points[i], fontsize=7,
                        xytext=(4, -10), textcoords="offset points")
    if warning:
        ax.text(0.02, 0.98, warning, transform=ax.transAxes, fontsize=8, va="top", color="#b00000", wrap=True)
    if default_params:
        ax.axvline(default_params, color="#1f77b4", linestyle="--", linewidth=1, label="default's params")
    ax.set_xlabel("parameters")
    ax.set_ylabel(f"score ({objective})")
    ax.set_title(title or "schedule search: score against parameters")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    tmp = f"{path}.tmp-{os.getpid()}.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    return path


def export_best_model(project_dir: str, path: str, rows: Optional[list] = None) -> dict:
    """Save the best completed trial's model, with its best-epoch weights, as ``.keras``.

    The weights are the trial's checkpoint from the search (not retrained).

    Returns:
        the leaderboard row of the exported trial.

    Raises:
        FileNotFoundError: no completed trial, or its checkpoint is missing
            (a worker on another machine kept it: use a shared --dir).
    """
    from kerasdil.tune.hypermodels import ScheduleHyperModel

    info = load_search_file(project_dir)
    rows = leaderboard(project_dir) if rows is None else rows
    if not rows:
        raise FileNotFoundError(f"{project_dir!r} has no completed trial yet; nothing to export.")
    best = rows[0]
    weights = os.path.join(best["dir"], "checkpoint.weights.h5")
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"the best trial's weights {weights!r} are missing (in a distributed search the workers must share --dir)."
        )
    s = info["settings"]
    family = FAMILIES[s["model"]]
    hypermodel = ScheduleHyperModel(family, [best["candidate"]], input_shape=tuple(s["input_shape"]),
                                    num_classes=s["num_classes"], learning_rate=s["learning_rate"])
    model = hypermodel.build_model(best["candidate"])
    model.load_weights(weights)
    if not path.endswith(".keras"):
        raise ValueError(f"the best model is saved as .keras; got {path!r}.")
    tmp = path[: -len(".keras")] + f".tmp-{os.getpid()}.keras"
    model.save(tmp)
    os.replace(tmp, path)
    return best


def make_report(directory: str, *, out_dir: Optional[str] = None, project_name: Optional[str] = None,
                export: bool = True, top: Optional[int] = None, chance_margin: float = CHANCE_MARGIN,
                noise: Optional[float] = None) -> dict:
    """Write the leaderboard, the Pareto plot and the best model of a search.

    Args:
        directory: the search folder (``--dir`` of the search) or its project folder.
        out_dir: where to write (default the project folder).
        project_name: which project, when ``directory`` holds several.
        export: also write ``best.keras``.
        top: keep only the best ``top`` rows in the markdown leaderboard.
        chance_margin: how far above ``1/num_classes`` a score still counts as chance.
        noise: the noise band when the search was not re-evaluated over seeds.

    Returns:
        dict with ``rows``, ``markdown`` (text), ``pareto`` (trial ids on the
        front; empty when the scores sit at chance or within noise),
        ``warnings``, ``noise`` (the :func:`noise_check` result),
        ``reevaluation`` (or None), ``skipped`` (one sentence per unreadable
        ``trial.json`` left out; the markdown lists them too) and the paths written.

    Raises:
        FileNotFoundError: no search, or no completed trial.
    """
    project_dir = find_project(directory, project_name)
    info = load_search_file(project_dir)
    skipped = []
    rows = leaderboard(project_dir, skipped)
    if not rows:
        raise FileNotFoundError(f"{project_dir!r} has no completed trial yet; run or resume kerasdil tune first.")
    out_dir = out_dir or project_dir
    os.makedirs(out_dir, exist_ok=True)
    if noise is not None and not noise >= 0:
        raise ValueError(f"noise= must be a score difference >= 0, got {noise!r}.")
    if not chance_margin >= 0:
        raise ValueError(f"chance_margin= must be >= 0, got {chance_margin!r}.")
    reevaluation = _reevaluated(project_dir)
    check = noise_check(rows, info, reevaluation, chance_margin=chance_margin, noise=noise)
    front = check["front"]
    pareto_ids = {rows[i]["trial_id"] for i in front}
    default = _current_default(info)
    markdown = _markdown(rows[:top] if top else rows, info, pareto_ids, check, reevaluation, default)
    if skipped:
        markdown += "\n" + "".join(f"- INCOMPLETE: {text}.\n" for text in skipped)
    paths = {
        "leaderboard_md": os.path.join(out_dir, "leaderboard.md"),
        "leaderboard_csv": os.path.join(out_dir, "leaderboard.csv"),
        "pareto_png": os.path.join(out_dir, "pareto.png"),
    }
    write_text_atomic(paths["leaderboard_md"], markdown)
    write_text_atomic(paths["leaderboard_csv"], _csv(rows, info, reevaluation))
    plot_pareto(rows, paths["pareto_png"], default_params=(default or {}).get("params"),
                title=f"{info['settings']['model']}: {len(rows)} trials, {info['settings']['tuner']}",
                objective=info["settings"].get("objective", "val_accuracy"), front=front,
                warning="no Pareto front: " + check["warnings"][-1].split(":")[0] if not front and check["warnings"]
                else None)
    if export:
        paths["best_keras"] = os.path.join(out_dir, "best.keras")
        export_best_model(project_dir, paths["best_keras"], rows)
    return {"rows": rows, "markdown": markdown, "pareto": [rows[i]["trial_id"] for i in front],
            "warnings": check["warnings"], "noise": check, "reevaluation": reevaluation, "skipped": skipped, **paths}


def _current_default(info):
    """The zoo default as the zoo builds it now; the search file's copy when the zoo cannot say."""
    from kerasdil.tune.tuners import zoo_default

    s = info["settings"]
    try:
        return zoo_default(s["model"], tuple(s["input_shape"]), s["num_classes"])
    except ValueError:  # a model the installed zoo no longer searches
        return info.get("default")
