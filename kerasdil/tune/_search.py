"""The search driver: :func:`search`, its settings and the zoo default it is compared with.

Re-exported by :mod:`kerasdil.tune.tuners`, whose docstring describes the files, resume and distribution.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable, Optional

from kerasdil.tune._oracles import COMPLETED, OBJECTIVE, TUNERS, make_oracle, make_tuner
from kerasdil.tune._search_data import (_check_positive, _check_scenes, _input_shape, _load_data, _load_scenes,
                                        _user_data)
from kerasdil.tune._search_files import SEARCH_FILE, _write_json, check_project_files, load_search_file
from kerasdil.tune.constraints import Constraints, PruneResult, ScheduleSpace, prune
from kerasdil.tune.hypermodels import ScheduleHyperModel, get_family


@dataclasses.dataclass
class SearchResult:
    """What :func:`search` did.

    Attributes:
        project_dir: the keras-tuner project folder.
        pruning: the constraint counts (:class:`PruneResult`).
        role: "local", "chief" or "worker".
        trials: trial id -> status, as the oracle (local/chief) or the worker saw it.
        best: the best completed trial's ``{"trial_id", "candidate", "score"}``,
            or None (workers and searches with no completed trial).
    """

    project_dir: str
    pruning: PruneResult
    role: str
    trials: dict
    best: Optional[dict]


def _settings(model, tuner, space, constraints, input_shape, num_classes, epochs, batch_size, learning_rate,
              learning_rate_range, data, limit, validation_size, seed, augment, hyperband_factor,
              objective=OBJECTIVE):
    return {
        "model": model,
        "tuner": tuner,
        "objective": objective,
        "space": space.to_dict(),
        "constraints": constraints.to_dict(),
        "input_shape": list(input_shape),
        "num_classes": num_classes,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "learning_rate_range": None if learning_rate_range is None else list(learning_rate_range),
        "data": None if data is None else str(data),
        "limit": limit,
        "validation_size": validation_size,
        "seed": seed,
        "augment": augment,
        "hyperband_factor": hyperband_factor if tuner == "hyperband" else None,
    }


def _zoo_default_values(model, info, family):
    """The zoo default's schedule, width and options, as the builder would resolve them."""
    config = dict(info.default_config)
    resolved = family.zoo_config(config) if family.zoo_config else config
    schedule = resolved.get("dilation_schedule") or family.default_schedule
    options = tuple((name, resolved.get(name, default)) for name, default in family.default_options)
    if schedule and not isinstance(schedule[0], (list, tuple)):
        schedule = (tuple(schedule),) * family.stages
    width = resolved.get("width", family.default_width)
    return tuple(tuple(int(r) for r in s) for s in schedule), int(width), options, config


def zoo_default(model: str, input_shape=None, num_classes=None) -> dict:
    """The zoo's hand-designed default of a searchable model, read from its builder's defaults, measured.

    The schedule, width and (for deeplab_aspp) ASPP rates and output stride
    are those ``create_model(model)`` builds today, so a report follows the
    zoo when its default changes. Builder arguments the search space pins
    differently from the zoo default (for instance another stem) are listed
    under ``"differs"``: the counts are then the search family's layout. For a
    configuration family (``deeplab_aspp_mobile``) the hand default is the
    configuration itself (``MOBILE_CONFIG``).

    Args:
        model: a search family's name (a zoo model, or a configuration of one).
        input_shape, num_classes: default the zoo entry's.

    Returns:
        dict: the measured candidate (``schedule``, ``width``, ``params``,
        ``macs``, ``receptive_field``, ``gridding_free``, ``key``, options),
        plus ``"differs"``: ``{argument: zoo default}``.

    Example:
        >>> zoo_default("mnist_dsdc")["width"]          # doctest: +SKIP
        18
    """
    from kerasdil.zoo import model_info

    family = get_family(model)
    info = model_info(family.model_name)
    if family.zoo_model is not None:  # a configuration family: its own default candidate is the hand default
        measured = family.measure(family.default_schedule, family.default_width, input_shape or info.input_shape,
                                  num_classes or info.num_classes, family.default_options).to_dict()
        measured["differs"] = {}
        return measured
    schedule, width, options, config = _zoo_default_values(model, info, family)
    differs = {}
    if not all(schedule):
        # A zoo default outside the family's layout (mnist_dsdc's has no blocks in stage 1):
        # the family's own default stands in, and every argument it changes is listed.
        differs["dilation_schedule"], differs["width"] = config.get("dilation_schedule"), config.get("width")
        schedule, width = tuple(tuple(r) for r in family.default_schedule), family.default_width
    measured = family.measure(schedule, width, input_shape or info.input_shape, num_classes or info.num_classes,
                              options).to_dict()
    pinned = family.builder_kwargs(schedule, width, **dict(family.options_of(options)))
    for name, value in pinned.items():
        if name in ("dilation_schedule", "width") or name not in config or config[name] is None:
            continue  # None: the builder derives it (stage_filters from width), as the family does
        if json.loads(json.dumps(config[name])) != json.loads(json.dumps(value)):
            differs[name] = config[name]
    measured["differs"] = differs
    return measured


def search(
    model: str = "mnist_dsdc",
    *,
    directory: str,
    project_name: Optional[str] = None,
    tuner: str = "hyperband",
    max_trials: int = 10,
    epochs: int = 2,
    space: Optional[ScheduleSpace] = None,
    constraints: Optional[Constraints] = None,
    data=None,
    limit: Optional[int] = None,
    validation_size: Optional[int] = None,
    batch_size: int = 128,
    learning_rate: float = 3e-3,
    learning_rate_range=None,
    augment: bool = False,
    seed: int = 0,
    overwrite: bool = False,
    hyperband_factor: int = 3,
    input_shape=None,
    role: str = "local",
    lease_seconds: float = 60.0,
    heartbeat_seconds: float = 5.0,
    verbose: int = 2,
    train_data=None,
    data_options=None,
    scenes=None,
    log: Callable[[str], None] = print,
) -> SearchResult:
    """Search dilation schedules of a zoo model; resumable; see the module docstring.

    Args:
        model: a search family: a zoo model name ("mnist_dsdc", "deeplab_aspp") or a
            configuration of one ("deeplab_aspp_mobile": deeplab_aspp's MOBILE_CONFIG).
        directory: folder of the search (created).
        project_name: sub-folder of the search; default the model name.
        tuner: "random", "bayesian" or "hyperband".
        max_trials: total trials; a resumed search stops at this total.
        epochs: epochs per trial (Hyperband: the most epochs of a trial).
        space: the raw space (default: the family's, ``ScheduleSpace()`` or
            ``SegmenterSpace()``).
        constraints: the rules (default none).
        data, limit, validation_size: the MNIST source (``kerasdil.data``), a
            cap on training images (scenes for deeplab_aspp: on train and
            validation scenes), and how many training images are held out
            for the objective (default 5,000, or a fifth of a small set;
            deeplab_aspp: validation scenes, default 1,000). The test set is
            never used.
        batch_size, learning_rate, learning_rate_range, augment: training.
        seed: sampling and data seed.
        overwrite: start afresh instead of resuming.
        hyperband_factor: Hyperband's reduction factor.
        input_shape: the model's input shape; default the zoo entry's. Only
            segmenters take another (the scenes are composed at that size;
            every searched output stride must divide it).
        role: "local", "chief" (serve the oracle; set KERASTUNER_* first, see
            :mod:`kerasdil.tune.distributed`) or "worker".
        lease_seconds: chief: how long a silent worker keeps its trial.
        heartbeat_seconds: worker: how often it tells the chief it is alive.
        verbose: Keras fit verbosity per trial.
        train_data: optional ``(train_ds, val_ds)`` to use instead of loading MNIST.
        data_options: with the user's own ``data`` (an image folder, "tfds:NAME",
            arrays; ``kerasdil.data.sources.load_data``), its options (``image_size``,
            ``resize``, ``channels``, ``validation_split``, ``data_dir``). The search
            then runs at the data's input shape and classes and scores on its
            validation split.
        scenes: segmenters: how the train and validation scenes look, a dict
            of ``kerasdil.data.scenes.SceneConfig`` fields such as ``scale_range``
            (each digit resized by a factor from LOW..HIGH), ``digits_per_image``
            (LOW..HIGH digits) or ``unit_scale_share``; the canvas is ``input_shape``.
            E.g. ``{"scale_range": (0.5, 2.0), "digits_per_image": (1, 5)}``
            searches where the receptive field matters.
        log: one-line progress messages.

    Returns:
        SearchResult.

    Raises:
        ValueError: bad arguments, an empty space after the constraints, an
            output stride that does not divide the input size, or a folder
            holding a search made with other settings.

    Example:
        >>> result = search("mnist_dsdc", directory="runs/tune", tuner="random", max_trials=4, epochs=1,
        ...                 constraints=Constraints(gridding_free=True), data="sample")   # doctest: +SKIP
    """
    _check_arguments(max_trials, epochs, batch_size, tuner, role)
    family = get_family(model)
    from kerasdil.zoo import model_info

    info = model_info(family.model_name)
    user_data, num_classes, input_shape = _data_spec(model, family, info, data, data_options, input_shape, seed,
                                                     train_data, log)
    space = family.check_space(space, input_shape)
    scenes = _check_scenes(scenes, family, input_shape)
    constraints = constraints or Constraints()
    pruning, keys = _prune(family, space, constraints, input_shape, num_classes, log)
    hypermodel = _hypermodel(family, keys, input_shape, num_classes, learning_rate, learning_rate_range, max_trials,
                             tuner, log)

    project_name = project_name or model
    project_dir = os.path.join(directory, project_name)
    settings = _settings(model, tuner, space, constraints, input_shape, num_classes, epochs, batch_size,
                         learning_rate, learning_rate_range, data, limit, validation_size, seed, augment,
                         hyperband_factor, family.objective)
    if scenes:
        settings["scenes"] = scenes  # only when given: searches made without it resume unchanged
    if user_data is not None:
        settings["data_options"] = json.loads(json.dumps(dict(data_options or {}), default=list))
    search_path = os.path.join(project_dir, SEARCH_FILE)
    lock = None
    if role != "worker":
        lock = _open_project(project_dir, settings, overwrite, role, log)
        _write_json(search_path, {
            "settings": settings,
            "pruning": pruning.to_dict(),
            "default": zoo_default(model, input_shape, num_classes),
            "candidates": [c.to_dict() for c in pruning.survivors],
        })

    try:
        oracle = make_oracle(tuner, max_trials=max_trials, epochs=epochs, seed=seed, hyperband_factor=hyperband_factor,
                             lease_seconds=lease_seconds if role == "chief" else None, space_size=len(keys),
                             objective=family.objective)
        kt_tuner = make_tuner(hypermodel, oracle, tuner, directory=directory, project_name=project_name)
        kt_tuner.heartbeat_seconds = heartbeat_seconds

        if role == "chief":
            _serve(kt_tuner, log)
        else:
            train_ds, val_ds = _search_datasets(
                family, info, user_data, train_data, input_shape, data, limit, validation_size, batch_size, seed,
                augment, scenes, role, project_dir, log)
            _run_trials(kt_tuner, train_ds, val_ds, epochs, verbose, role, max_trials, len(keys), tuner, log)
        trials, best = _outcome(kt_tuner, role, family)
    finally:
        if lock is not None:
            lock.release()
    return SearchResult(project_dir, pruning, role, trials, best)


def _check_arguments(max_trials, epochs, batch_size, tuner, role):
    """One sentence for a bad count, tuner or role, before anything is read or written."""
    _check_positive("max_trials", max_trials)
    _check_positive("epochs", epochs)
    _check_positive("batch_size", batch_size)
    if tuner not in TUNERS:
        raise ValueError(f"unknown tuner {tuner!r}; use one of {', '.join(TUNERS)}.")
    if role not in ("local", "chief", "worker"):
        raise ValueError(f"role must be 'local', 'chief' or 'worker', got {role!r}.")


def _data_spec(model, family, info, data, data_options, input_shape, seed, train_data, log):
    """(the user's data or None, num_classes, input_shape) of a search."""
    user_data = _user_data(data, data_options, family, info, input_shape, seed) if train_data is None else None
    if user_data is not None:
        log(user_data.spec.description)
        return user_data, user_data.spec.num_classes, tuple(user_data.spec.input_shape)
    return None, int(info.num_classes), _input_shape(model, info, family, input_shape)


def _prune(family, space, constraints, input_shape, num_classes, log):
    """(the pruning, the keys of the searchable candidates); raises ValueError when none is left."""
    pruning = prune(family, space, constraints, input_shape=input_shape, num_classes=num_classes)
    log(pruning.summary())
    keys = [c.key for c in pruning.survivors]
    if not keys:
        raise ValueError(pruning.empty_message(constraints))
    return pruning, keys


def _hypermodel(family, keys, input_shape, num_classes, learning_rate, learning_rate_range, max_trials, tuner, log):
    """The HyperModel over the searchable candidates; says when fewer candidates than trials exist."""
    hypermodel = ScheduleHyperModel(family, keys, input_shape=input_shape, num_classes=num_classes,
                                    learning_rate=learning_rate, learning_rate_range=learning_rate_range)
    if max_trials > len(keys) and tuner != "hyperband":
        log(f"note: only {len(keys)} candidates are searchable; the search stops after {len(keys)} trials.")
    return hypermodel


def _open_project(project_dir, settings, overwrite, role, log):
    """Make (or check, to resume) the project folder of a local or chief search; the run lock when local, or None.

    Raises:
        ValueError: a state file is corrupt, the folder holds a search made with other settings,
            or a keras-tuner project kerasdil did not write.
    """
    search_path = os.path.join(project_dir, SEARCH_FILE)
    if overwrite and os.path.isdir(project_dir):
        import shutil

        shutil.rmtree(project_dir)
    if os.path.isdir(project_dir):
        check_project_files(project_dir)  # a truncated file: one sentence naming it, before keras-tuner reads it
    if os.path.isfile(search_path):
        previous = load_search_file(project_dir).get("settings")
        if previous != json.loads(json.dumps(settings)):
            changed = sorted(k for k in set(previous) | set(settings)
                             if previous.get(k) != json.loads(json.dumps(settings.get(k))))
            raise ValueError(
                f"{project_dir!r} holds a search made with other settings ({', '.join(changed)} differ); "
                "rerun with the same settings to resume it, or pass overwrite=True or another directory=."
            )
        log(f"resuming the search in {project_dir}")
    elif os.path.isdir(project_dir) and os.path.isfile(os.path.join(project_dir, "oracle.json")):
        raise ValueError(
            f"{project_dir!r} holds a keras-tuner project that kerasdil did not write; "
            "choose another directory= or pass overwrite=True."
        )
    os.makedirs(project_dir, exist_ok=True)
    if role != "local":
        return None
    from kerasdil.run import RunLock

    lock = RunLock(project_dir)  # the run engine's lock: one search at a time in a folder
    lock.acquire()
    return lock


def _search_datasets(family, info, user_data, train_data, input_shape, data, limit, validation_size, batch_size,
                     seed, augment, scenes, role, project_dir, log, with_test=False):
    """(train, validation) datasets of a local search or a worker: the user's data, scenes, MNIST or ``train_data``.

    ``with_test``: also the user's test split (None for other data or none): ``(train, validation, test)``.
    """
    test = None
    if user_data is not None:
        from kerasdil.tasks import get_task

        parts = user_data.pipelines(get_task(family.task), info, batch_size=batch_size, seed=seed, limit=limit,
                                    augment=user_data.augment(family.task, augment))
        if parts.validation is None:
            raise ValueError("the search needs validation images for its objective; give a validation split "
                             "(--validation-split 0.2) or a validation/ folder.")
        pair, test = (parts.train, parts.validation), parts.test
    elif train_data is None and family.task == "segmentation":
        pair = _load_scenes(info, input_shape, data, limit, validation_size, batch_size, seed, augment, log, scenes)
    elif train_data is not None:
        pair = train_data
    else:
        train_ds, val_ds, val_images = _load_data(data, limit, validation_size, batch_size, seed, augment, log)
        if role == "local":
            record = load_search_file(project_dir)
            if record.get("validation_images") != val_images:
                record["validation_images"] = val_images
                _write_json(os.path.join(project_dir, SEARCH_FILE), record)
        pair = (train_ds, val_ds)
    return (*pair, test) if with_test else tuple(pair)


def _serve(kt_tuner, log):
    """The chief: save the tuner, then serve its oracle to the workers until the search ends."""
    from kerasdil.tune.distributed import serve_oracle

    kt_tuner.save()
    serve_oracle(kt_tuner.oracle, log=log)


def _run_trials(kt_tuner, train_ds, val_ds, epochs, verbose, role, max_trials, num_candidates, tuner, log):
    """Run the tuner's trials on the datasets, each trial stopped at once if its loss turns NaN."""
    remaining = kt_tuner.remaining_trials if role == "local" else None
    if remaining is not None:
        log(f"{max_trials - remaining} of {max_trials} trials exist; searching {num_candidates} candidates "
            f"with {tuner}")
    from kerasdil.data import repeat_epochs
    from kerasdil.run import finite_guard

    train_ds, steps = repeat_epochs(train_ds)  # one iterator per trial, not one per epoch
    # The run engine's guard: a trial whose loss turns NaN stops at once and fails, so no NaN score is kept.
    kt_tuner.search(train_ds, validation_data=val_ds, epochs=epochs, steps_per_epoch=steps, verbose=verbose,
                    shuffle=False,  # the pipeline shuffles; Keras would warn that it ignores shuffle=True
                    callbacks=[finite_guard(None)])


def _outcome(kt_tuner, role, family):
    """(trial id -> status, the best completed trial or None) of a search; a worker reports no best."""
    trials = {tid: t.status for tid, t in getattr(kt_tuner.oracle, "trials", {}).items()}
    best = None
    if role != "worker":
        done = [t for t in kt_tuner.oracle.trials.values() if t.status == COMPLETED and t.score is not None]
        if done:
            top = max(done, key=lambda t: t.score)
            best = {"trial_id": top.trial_id, "candidate": top.hyperparameters.get("candidate"), "score": top.score,
                    "objective": family.objective}
    return trials, best
