"""The one run engine: data -> model -> compile -> fit -> save -> evaluate.

``kerasdil.train.train``, ``kerasdil.finetune.finetune`` and the schedule search
(``kerasdil.tune.search``) run through here, so every guarantee holds for all three:

- ``train.lock`` while a run runs: a second run into the same folder is refused at
  once (``kerasdil._lock.RunLock``); a refused run leaves no folder behind.
- ``backup/``: the weights and optimizer state of the last completed epoch (and of
  the best one, with early stopping). Kill the run at any instant, even after its
  last epoch, and call it again with the same arguments: it continues from the last
  completed epoch. Removed only once ``model.keras`` and ``metrics.json`` are written.
- Training stops with :class:`TrainingDiverged` at the first NaN or infinite loss,
  before that epoch's history entry or backup is written.
- Every file is written under a temporary name and renamed, as strict JSON (a
  non-finite number is ``null``): ``run.json`` (the arguments, to refuse a mismatched
  resume), ``history.json``, ``curves.png``, ``model.keras``, ``metrics.json``.

:func:`execute` runs one or more :class:`Phase` (fine-tuning: the head with the
backbone frozen, then every layer) on the pipelines of a
:class:`kerasdil.data.pipeline.DataPlan`. :func:`size_schedule` sizes a run on the
user's own data by optimizer steps instead of MNIST's epoch count.

Example:
    >>> from kerasdil.run import size_schedule
    >>> size_schedule(num_train=400, batch_size=32, min_steps=1500, passes=30).summary
"""

import contextlib
import dataclasses
import json
import math
import os
import shutil
import time
from typing import Callable, Optional

import numpy as np

from kerasdil._lock import LOCK_FILE, RunLock  # noqa: F401  (LOCK_FILE: part of this module's API)
from kerasdil._run_state import (  # noqa: F401  (TrainingDiverged: part of this module's API)
    TrainingDiverged,
    atomic_json,
    backup_callback,
    backup_state,
    finite_guard,
    history_callback,
    json_default,
    load_backup_weights,
    read_json,
)
from kerasdil.data.pipeline import data_info_for  # noqa: F401  (part of this module's API)


@dataclasses.dataclass
class TrainResult:
    """What a run produced: the model, the per-epoch history, the test scores and its folder."""

    model: object
    history: list
    metrics: dict
    out_dir: str


def compile_model(model, task, *, learning_rate, weight_decay=0.0, decay_steps=None, label_smoothing=0.0,
                  fused_optimizer=True):
    """Compile ``model`` for ``task`` with AdamW and cosine learning-rate decay.

    ``weight_decay`` is AdamW's decoupled decay (Keras multiplies it by the
    learning rate each step); 0 compiles plain Adam. Both are
    ``kerasdil.optimizers``' drop-ins for Keras's, whose TensorFlow update is one
    fused kernel per variable; ``fused_optimizer=False`` compiles Keras's own
    classes instead (same results to float rounding; for comparison, as
    ``tools/bench_optimizer.py`` does). ``label_smoothing`` > 0 trains on
    smoothed targets (``kerasdil.losses``).
    """
    import keras

    from kerasdil import optimizers

    classes = optimizers if fused_optimizer else keras.optimizers

    lr = learning_rate
    if decay_steps:
        # At least one decay step remains after warm-up, even for a one-step run.
        warmup = min(max(1, decay_steps // 50), max(decay_steps - 1, 0))
        lr = keras.optimizers.schedules.CosineDecay(
            learning_rate / 10, max(decay_steps - warmup, 1), alpha=0.01, warmup_target=learning_rate, warmup_steps=warmup
        )
    metrics = task.metrics()
    out_classes = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if task.name == "segmentation" and out_classes:
        from kerasdil.metrics import keras_metrics

        metrics = keras_metrics(int(out_classes))  # mean IoU over the model's own classes (the user's data)
    model.compile(
        optimizer=classes.AdamW(lr, weight_decay=weight_decay) if weight_decay else classes.Adam(lr),
        loss=task.loss(label_smoothing=label_smoothing),
        metrics=metrics,
    )
    return model


def fit(model, train_data, *, epochs, out_dir, task, validation_data=None, verbose="auto", callbacks=(),
        first_epoch=0, early_stopping=None, keep_backup=False, log=print):
    """Fit a compiled ``model`` with checkpoint/resume and per-epoch history in ``out_dir``.

    Training data that composes new MNIST scenes every epoch
    (``mnist_scenes(new_scenes_every_epoch=True)``) is tied to the epoch index
    (``kerasdil.data.scenes.scene_epoch_callback``): a resumed run sees, at
    every epoch, the scenes an uninterrupted run would have seen.

    With ``keep_backup`` the resume state ``out_dir/backup`` outlives the fit: the caller
    removes it (:func:`save_finished_run` does) once the finished model is on disk, so a
    kill in between resumes (the run engine does this). Otherwise it is removed at the end.

    Args:
        first_epoch: index of this fit's first epoch in a longer run (for the
            scene sequence; e.g. the all-layers phase of fine-tuning).
        early_stopping: None, or ``{"monitor", "mode", "patience"[, "min_epochs"]}``: stop
            once the validation score has not improved for ``patience`` epochs (never
            before ``min_epochs``), and end with the best epoch's weights (also after a resume).

    Returns:
        The list of per-epoch history entries (all epochs, across restarts).

    Raises:
        TrainingDiverged: a loss or metric became NaN or infinite.
    """
    from kerasdil.data import repeat_epochs
    from kerasdil.data.scenes import scene_epoch_callback

    os.makedirs(out_dir, exist_ok=True)
    history_path = os.path.join(out_dir, "history.json")
    backup_dir = os.path.join(out_dir, "backup")
    scenes = scene_epoch_callback(train_data, first_epoch)
    backup, state = backup_callback(backup_dir, early_stopping)
    completed = state["epoch"] if state else 0
    if state and state.get("stopped"):
        epochs = completed  # early stopping had ended the run: nothing more to train
    elif completed and completed < epochs:
        log(f"resuming {out_dir}: {completed} of {epochs} epochs were done; continuing at epoch {completed + 1}")
    cbs = [
        # The guard first: a diverged epoch must raise before its history entry and backup are written.
        finite_guard(backup_dir),
        # History next: an epoch's entry is on disk before its backup, so a kill between
        # the two redoes the epoch and rewrites the entry; the other way round would lose it.
        history_callback(history_path),
        backup,
        *([scenes] if scenes is not None else []),
        *callbacks,
    ]
    # One iterator for all epochs: a new one per epoch idles seconds at each epoch's start.
    train_data, steps = repeat_epochs(train_data)
    # shuffle=False: the tf.data pipeline shuffles; Keras ignores (and warns about) its own flag here.
    model.fit(train_data, validation_data=validation_data, epochs=epochs, steps_per_epoch=steps, callbacks=cbs,
              verbose=verbose, initial_epoch=completed, shuffle=False)
    state = backup_state(backup_dir)
    best = (state or {}).get("best")
    if early_stopping and best:
        load_backup_weights(model, backup_dir, best["weights"])
        stopped = f"stopped after epoch {state['epoch']}" if state.get("stopped") else f"ran all {state['epoch']} epochs"
        log(f"early stopping {stopped}; kept the best epoch, {best['epoch']} "
            f"({early_stopping['monitor']} {best['value']:.4f})")
    if not keep_backup:
        shutil.rmtree(backup_dir, ignore_errors=True)
    return read_json(history_path, f"delete the folder {out_dir} to train afresh")


@contextlib.contextmanager
def run_folder(out_dir, what, lock=None):
    """Create ``out_dir`` for a run (``what``: "training", "fine-tuning") while the run is set up.

    If the setup raises (a misspelt argument, bad data, a refused resume), the folder is
    removed again when this call created it and nothing was written into it yet.

    Args:
        lock: a :class:`RunLock` of ``out_dir`` to acquire once the folder exists; it is
            released again if the setup raises, and otherwise stays held for the caller.

    Raises:
        FileExistsError: ``out_dir`` is a file, or ``lock`` is held by another run.
    """
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise FileExistsError(f"--out {out_dir!r} is a file; {what} needs a folder (new or a run to resume).")
    created = not os.path.exists(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    try:
        if lock is not None:
            lock.acquire()
        yield
    except BaseException:
        if lock is not None:
            lock.release()
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(out_dir)  # fails (and is ignored) unless empty
        raise


def is_chief():
    """True unless TF_CONFIG names this process a non-chief worker (worker 0 leads
    when the cluster has no explicit chief, as in MultiWorkerMirroredStrategy)."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    if task.get("type", "chief") == "chief":
        return True
    return task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in config.get("cluster", {})


#: What a training run writes into its folder (besides run.json).
RUN_FILES = ("model.keras", "metrics.json", "history.json", "curves.png", "confusion.png", "backup", "data.json")


def open_run_dir(out_dir, run, log=print):
    """Check ``out_dir`` before a (re)run described by the JSON-able dict ``run``.

    Returns:
        A ``TrainResult`` loaded from ``out_dir`` if it holds a finished run with the
        same settings; None if training should start or resume.

    Raises:
        ValueError: ``out_dir`` holds a run made with other settings.
    """
    run = json.loads(json.dumps(run, default=json_default))
    run_path = os.path.join(out_dir, "run.json")
    if not os.path.exists(run_path):
        # Not a kerasdil run: refuse to write over files a run would replace.
        ours = sorted(n for n in RUN_FILES if os.path.lexists(os.path.join(out_dir, n)))
        if ours:
            raise FileExistsError(
                f"{out_dir!r} is not a kerasdil run folder (no run.json) but holds {', '.join(ours)}, which "
                "training would overwrite; choose another --out."
            )
    fresh = f"delete the folder {out_dir} to train afresh, or choose another --out"
    if os.path.exists(run_path):
        previous = read_json(run_path, fresh)
        if previous != run:
            changed = sorted(k for k in set(previous) | set(run) if previous.get(k) != run.get(k))
            raise ValueError(
                f"{out_dir!r} holds a run made with other settings ({', '.join(changed)} differ); "
                "rerun with the same arguments to resume it, or choose another --out."
            )
    metrics_path = os.path.join(out_dir, "metrics.json")
    model_path = os.path.join(out_dir, "model.keras")
    if os.path.exists(metrics_path) and os.path.exists(model_path):
        log(f"{out_dir} already holds a finished run; loading it (delete the folder to train again).")
        metrics = read_json(metrics_path, fresh)
        history = read_json(os.path.join(out_dir, "history.json"), fresh)
        from kerasdil.saving import load_model  # registers kerasdil's layers and model class first

        return TrainResult(load_model(model_path), history, metrics, out_dir)
    return None


def check_data_fits_model(dataset, model):
    """Raise a clear ValueError when ``dataset``'s images (or series) and ``model``'s input differ in size."""
    from kerasdil.data.checks import example_noun

    data_shape = tuple(dataset.element_spec[0].shape)[1:]
    model_shape = tuple(model.input_shape)[1:]
    if len(data_shape) != len(model_shape):
        return
    for d, m in zip(data_shape, model_shape):
        if d is not None and m is not None and d != m:
            raise ValueError(
                f"the data set's {example_noun(data_shape)} are {'x'.join(map(str, data_shape))} but model "
                f"{model.name!r} takes {'x'.join(map(str, model_shape))}; build the model for the size of its data "
                "(input_shape)."
            )



def save_finished_run(model, history, metrics, train_seconds, out_dir, backups=("backup",)):
    """Add the timing to ``metrics``, then write ``model.keras`` and ``metrics.json`` into
    ``out_dir`` (each whole or not at all; the metrics last, so they mark a finished run),
    and only then remove the resume state (``backups``, folders of ``out_dir``).

    Returns:
        ``TrainResult``.
    """
    epoch_seconds = [h["seconds"] for h in history]
    metrics.update(
        epochs=len(history),
        seconds_per_epoch_median=float(np.median(epoch_seconds)) if epoch_seconds else None,
        train_seconds_this_process=round(train_seconds, 1),
        train_seconds_total=round(float(sum(epoch_seconds)), 1),
    )
    tmp_model = os.path.join(out_dir, f"model.tmp-{os.getpid()}.keras")
    model.save(tmp_model)
    os.replace(tmp_model, os.path.join(out_dir, "model.keras"))
    atomic_json(os.path.join(out_dir, "metrics.json"), metrics)
    for folder in backups:
        shutil.rmtree(os.path.join(out_dir, folder), ignore_errors=True)
    return TrainResult(model, history, metrics, out_dir)


@dataclasses.dataclass
class Schedule:
    """How long a run on the user's data trains, and why (:func:`size_schedule`).

    Attributes:
        epochs: epochs to run (each one pass over the training split).
        steps_per_epoch: optimizer steps per epoch.
        patience: early stopping's patience in epochs, or None when there is no
            validation split to stop on.
        min_epochs: epochs early stopping lets run before it may stop the run (the floor's).
        summary: one line saying what was chosen and why.
    """

    epochs: int
    steps_per_epoch: int
    patience: Optional[int]
    summary: str
    min_epochs: int = 0


def size_schedule(*, num_train, batch_size, min_steps, passes, patience=0.25, min_patience=8, num_validation=None,
                  epochs=None, monitor="val_loss", noun="images"):
    """Size a run on the user's data by optimizer steps: ``passes`` over the data, at least ``min_steps``.

    A few hundred images give a few optimizer steps per epoch, so an epoch count made
    for MNIST's 60,000 images stops long before the model converges. Early stopping on
    the validation loss (``patience``: a share of the epochs, at least ``min_patience``)
    ends runs that stop improving sooner, never before the floor's steps (a validation
    split of a few dozen images is too noisy to cut a run shorter), and the best
    epoch's weights are kept.

    Args:
        num_train: training examples.
        batch_size: examples per step.
        min_steps: the floor on optimizer steps.
        passes: passes over the training examples, when they need more steps than the floor.
        patience, min_patience: early stopping's patience (a share of the epochs, a floor).
        num_validation: validation examples (None or 0: no early stopping).
        epochs: the user's epoch count, kept as given (the schedule then only adds early stopping).
        monitor: the validation score early stopping watches (for the summary).
        noun: what the examples are, for the summary ("images", "series").

    Returns:
        :class:`Schedule`.

    Example:
        >>> size_schedule(num_train=400, batch_size=32, min_steps=1500, passes=30, num_validation=80).summary
        '400 images -> 1,508 steps (floor 1,500), 116 epochs x 13 steps, early stopping on 80 validation images (val_loss, patience 29 epochs, not before 1,500 steps, best weights restored)'
    """
    per_epoch = max(1, math.ceil(num_train / batch_size))
    if epochs is not None:
        why = f"{epochs} epochs as given"
    else:
        wanted = passes * per_epoch
        epochs = max(1, math.ceil(max(wanted, min_steps) / per_epoch))
        why = (f"{passes} passes" if wanted >= min_steps else f"floor {min_steps:,}")
    total = epochs * per_epoch
    text = f"{num_train:,} {noun} -> {total:,} steps ({why}), {epochs} epochs x {per_epoch} steps"
    stop, floor = None, min(epochs, math.ceil(min_steps / per_epoch))
    if num_validation:
        stop = max(int(min_patience), math.ceil(patience * epochs))
        text += (f", early stopping on {num_validation:,} validation {noun} ({monitor}, patience {stop} epochs, "
                 f"not before {min(total, min_steps):,} steps, best weights restored)")
    else:
        text += ", no early stopping (no validation split)"
    return Schedule(epochs, per_epoch, stop, text, floor)


@dataclasses.dataclass
class Phase:
    """One fit of a run: how many epochs, at what learning rate, with which layers trainable.

    Attributes:
        epochs: epochs of this phase.
        learning_rate, weight_decay, label_smoothing: its compile settings.
        label: a name for the log and ``history.json`` ("head", "all"); "" for a one-phase run.
        prepare: ``model -> str`` run before the phase compiles (freeze / unfreeze layers);
            returns a few words for the log.
        patience: early stopping's patience in epochs (None: off).
        min_epochs: epochs before early stopping may stop this phase.
        monitor: the validation value early stopping watches (a loss is minimised, anything else maximised).
    """

    epochs: int
    learning_rate: float
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    label: str = ""
    prepare: Optional[Callable] = None
    patience: Optional[int] = None
    min_epochs: int = 0
    monitor: str = "val_loss"


def _phase_folders(phases):
    """Each phase's folder in the run folder: the run folder itself for a one-phase run."""
    if len(phases) == 1:
        return [""]
    return [f"phase{i + 1}_{phase.label}" for i, phase in enumerate(phases)]


def _run_phases(model, trainee, phases, parts, *, out_dir, task, steps, verbose, log, compiled_first):
    """Fit ``phases`` in turn; a finished phase (all but the last) is kept as weights, so a rerun skips it."""
    folders, history, first_epoch = _phase_folders(phases), [], 0
    for i, (phase, folder) in enumerate(zip(phases, folders)):
        what = phase.prepare(model) if phase.prepare else ""
        done = os.path.join(out_dir, f"{folder}.weights.npz") if i < len(phases) - 1 else None
        phase_dir = os.path.join(out_dir, folder)
        if done and os.path.exists(done):
            from kerasdil.zoo.weights_io import assign_weights, read_weights

            assign_weights(model, read_weights(done)[1], source=done)
            entries = read_json(os.path.join(phase_dir, "history.json"), f"delete the folder {out_dir} to start afresh")
            log(f"phase {i + 1} ({phase.label}) already done; loaded {done}")
        else:
            if not (i == 0 and compiled_first):
                compile_model(trainee, task, learning_rate=phase.learning_rate, weight_decay=phase.weight_decay,
                              decay_steps=steps * phase.epochs if steps > 0 else None,
                              label_smoothing=phase.label_smoothing)
            if len(phases) > 1:
                log(f"phase {i + 1}: {phase.epochs} epochs{', ' + what if what else ''}, lr {phase.learning_rate}")
            stopping = ({"monitor": phase.monitor, "mode": "min" if phase.monitor.endswith("loss") else "max",
                         "patience": phase.patience, "min_epochs": phase.min_epochs}
                        if phase.patience and parts.validation is not None else None)
            entries = fit(trainee, parts.train, epochs=phase.epochs, out_dir=phase_dir, task=task,
                          validation_data=parts.validation, verbose=verbose, first_epoch=first_epoch,
                          early_stopping=stopping, keep_backup=True, log=log)
            if done:
                from kerasdil.zoo.weights_io import save_weights

                save_weights(model, done)
        if len(phases) > 1:
            entries = [dict(h, epoch=h["epoch"] + len(history), phase=phase.label) for h in entries]
        history += entries
        first_epoch += phase.epochs
    if len(phases) > 1:
        atomic_json(os.path.join(out_dir, "history.json"), history)
    return history, [os.path.join(f, "backup") if f else "backup" for f in folders]


def execute(*, name, out_dir, run, data, task, info, build, phases, batch_size, augment=False, limit=None, seed=0,
            dataset_kwargs=None, what="training", scope=None, on_start=None, describe=None, title=None,
            extra_metrics=None, verbose="auto", log=print):
    """Run a model on its data: the one path of train, finetune and the search's trials' guarantees.

    Args:
        name: the zoo name (metrics, plots).
        out_dir: the run folder; rerunning with the same ``run`` resumes or returns the finished run.
        run: JSON-able dict of the run's settings, written as ``run.json``.
        data: a :class:`kerasdil.data.pipeline.DataPlan`.
        task: the ``kerasdil.tasks`` task; ``info``: the zoo ``ModelInfo`` the data is made for.
        build: ``parts -> (model, trainee)``, called inside ``scope`` before anything is written
            (trainee: what is fitted, e.g. a distiller around the model); may raise.
        phases: the :class:`Phase` list (one for train; head and all layers for finetune).
        batch_size, augment, limit, seed, dataset_kwargs: the pipelines' settings.
        what: "training" or "fine-tuning", for messages.
        scope: a context manager to build and compile in (a distribution strategy's scope).
        on_start: ``(model, out_dir) -> None``, once run.json is written (extra records).
        describe: ``(model, steps) -> str``: the start line.
        title: the curves' title.
        extra_metrics: ``metrics -> dict`` added to ``metrics.json`` (e.g. what was transferred),
            given the test scores.

    Returns:
        ``TrainResult``.

    Raises:
        ValueError: bad data or a refused resume (the folder is left as it was);
            :class:`TrainingDiverged`.
        FileExistsError: another run holds the folder's lock.
    """
    from kerasdil.data.checks import check_limit, check_model_memory  # hostile sizes: one sentence, nothing written
    from kerasdil.zoo.stats import model_stats

    check_limit(limit)
    if not is_chief():
        # Non-chief workers of a multi-worker run write their checkpoints elsewhere.
        out_dir = os.path.join(out_dir, f"worker-{json.loads(os.environ['TF_CONFIG'])['task']['index']}")
    lock = RunLock(out_dir)  # one run at a time in a folder
    with run_folder(out_dir, what, lock=lock):  # a refused run leaves no folder behind
        finished = open_run_dir(out_dir, run, log)
        if finished is not None:
            for folder in _phase_folders(phases):
                shutil.rmtree(os.path.join(out_dir, folder, "backup"), ignore_errors=True)  # killed before cleanup
            lock.release()
            return finished
        import keras

        keras.utils.set_random_seed(seed)
        parts = data.pipelines(task, info, batch_size=batch_size, augment=augment, limit=limit, seed=seed,
                               **dict(dataset_kwargs or {}))
        with scope if scope is not None else contextlib.nullcontext():
            model, trainee = build(parts)
            check_model_memory(model, batch_size, training=True)
            check_data_fits_model(parts.train, model)
            atomic_json(os.path.join(out_dir, "run.json"), run)  # only once the run can start
            data.write_record(out_dir)
            steps = int(parts.train.cardinality())
            first = phases[0]
            if not first.prepare:  # compiled here, inside the scope (a strategy's scope is entered once)
                compile_model(trainee, task, learning_rate=first.learning_rate, weight_decay=first.weight_decay,
                              decay_steps=steps * first.epochs if steps > 0 else None,
                              label_smoothing=first.label_smoothing)
    try:
        if on_start is not None:
            on_start(model, out_dir)
        log(parts.description)
        stats = model_stats(model)
        if describe is not None:
            log(describe(stats, steps))
        start = time.perf_counter()
        history, backups = _run_phases(model, trainee, phases, parts, out_dir=out_dir, task=task, steps=steps,
                                       verbose=verbose, log=log, compiled_first=not first.prepare)
        train_seconds = time.perf_counter() - start
        from kerasdil.plots import plot_history

        plot_history([{k: v for k, v in h.items() if k != "phase"} for h in history],
                     os.path.join(out_dir, "curves.png"), title=title or name)
        metrics = task.evaluate(model, parts.test, out_dir=out_dir, class_names=data.class_names)
        metrics.update(model=name, **stats, data=parts.description)
        metrics.update(extra_metrics(metrics) if extra_metrics else {})
        return save_finished_run(model, history, metrics, train_seconds, out_dir, backups=backups)
    finally:
        lock.release()


def model_line(name, stats, data):
    """The start of a run's model line: ``"model: NAME (P params, M MACs/image); "`` (MACs per series for series)."""
    unit = "series" if data.noun == "series" else "image"
    return f"model: {name} ({stats['params']:,} params, {stats['macs']:,} MACs/{unit}); "


def check_recipe(settings, *, positive_ints=("epochs", "batch_size"), rates=("learning_rate",), prefix=""):
    """Refuse a recipe whose counts are not positive ints or whose rates are not finite numbers > 0.

    Booleans are refused too (``True`` is an int to Python, not an epoch count or a rate).

    Raises:
        ValueError: one sentence naming the setting and the value.
    """
    for key in positive_ints:
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{prefix}`{key}` must be a positive int, got {value!r}.")
    for key in rates:
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not value > 0:
            flag = " (--lr)" if key == "learning_rate" else ""
            raise ValueError(f"{prefix}`{key}`{flag} must be a finite number > 0, got {value!r}.")


def data_schedule(info, data, settings, task, *, epochs_given, batch_given=True):
    """For the user's data, :func:`size_schedule` with the model's ``data_recipe``; None for MNIST.

    ``settings`` gets the chosen ``epochs``, ``early_stopping_patience`` and
    ``early_stopping_min_epochs`` (recorded in run.json),
    and, unless the caller gave one, a ``batch_size`` of at most ``max_batch_share`` of the
    training images (a power of two, at least 16): a few hundred images in batches of 128
    would be a handful of steps per epoch.
    """
    if not data.is_user_data or not data.num_train:
        return None
    sizing = info.record.data_recipe  # the record fills in DEFAULT_DATA_RECIPE's keys
    if not batch_given:
        cap = 2 ** int(math.log2(max(16.0, sizing["max_batch_share"] * data.num_train)))
        settings["batch_size"] = min(settings["batch_size"], cap)
    schedule = size_schedule(num_train=data.num_train, batch_size=settings["batch_size"],
                             min_steps=sizing["min_steps"], passes=sizing["passes"], patience=sizing["patience"],
                             min_patience=sizing["min_patience"], num_validation=data.num_validation,
                             epochs=settings["epochs"] if epochs_given else None, noun=data.noun)
    settings["epochs"] = schedule.epochs
    settings["early_stopping_patience"] = schedule.patience
    settings["early_stopping_min_epochs"] = schedule.min_epochs
    return schedule
