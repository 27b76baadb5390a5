"""Training recipes: compile + fit + callbacks, resumable, with artifacts on disk.

``train("mnist_dsdc", out_dir="runs/x")`` builds the zoo model, loads its data,
trains with the model's recipe and writes into ``out_dir``:

- ``backup/``: the weights and optimizer state of the last completed epoch. Kill the
  run at any point (even while it writes the backup) and call it again with the same
  arguments: it continues from the last completed epoch and ends with the same number
  of epochs. Removed when training completes.
- ``history.json`` (one entry per epoch, kept consistent across restarts),
  ``curves.png``, ``model.keras`` (the final model), ``metrics.json`` (test set
  scores and timing), ``run.json`` (the arguments, to refuse a mismatched resume).

- ``train.lock`` while the run runs: a second run into the same folder is refused
  at once (``kerasdil._lock.RunLock``).

Every file is written under a temporary name and renamed, as strict JSON (a
non-finite number is ``null``). Training stops with :class:`TrainingDiverged` at
the first NaN or infinite loss, before that epoch's history entry or backup is
written, so ``backup/`` keeps the last good epoch.
"""

import contextlib
import dataclasses
import json
import math
import os
import shutil
import time
import types

import numpy as np

from kerasdil._lock import LOCK_FILE, RunLock  # noqa: F401  (LOCK_FILE: part of this module's API)
from kerasdil.zoo import registry as _zoo_registry
from kerasdil.zoo.record import DEFAULT_TRAINING_RECIPE as DEFAULT_RECIPE

#: Read-only view of the zoo entries' training recipes, ``{name: recipe}``. Each recipe
#: lives in its entry's record (``kerasdil/zoo/*_record.py``), with why it is what it is;
#: the shipped weights were trained with it (zoo/<name>/README.md).
RECIPES = types.MappingProxyType(
    {name: _zoo_registry.model_info(name).record.training_recipe for name in _zoo_registry.list_models()})


def recipe(name):
    """The training recipe (a dict you may change) of zoo model ``name``; the default recipe
    for a name the zoo does not know."""
    try:
        return _zoo_registry.model_info(name).training_recipe
    except ValueError:
        return dict(DEFAULT_RECIPE)


@dataclasses.dataclass
class TrainResult:
    """What ``train`` produced."""

    model: object
    history: list
    metrics: dict
    out_dir: str


def _atomic_json(path, data):
    """Write ``path`` whole or not at all (a kill mid-write leaves the old file)."""
    from kerasdil._json import dumps  # NaN / Inf written as null: the file stays valid JSON
    from kerasdil.io import write_text_atomic  # a unique temporary name per call, then a rename

    write_text_atomic(path, dumps(data, indent=2, default=_json_default))


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    return str(o)


def _history_callback(path):
    import keras

    class HistoryFile(keras.callbacks.Callback):
        """Per-epoch logs appended to a JSON file; after a resume the entries past the
        restored epoch are dropped, so the file always matches the weights."""

        def on_train_begin(self, logs=None):
            self.entries = []
            if os.path.exists(path):
                self.entries = _read_json(path, f"delete it to resume without the earlier epochs' log, or "
                                                f"delete the folder {os.path.dirname(path)} to train afresh")

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            entry = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self._start, 3)}
            entry.update({k: float(v) for k, v in (logs or {}).items()})
            self.entries = [e for e in self.entries if e["epoch"] <= epoch] + [entry]
            _atomic_json(path, self.entries)

    return HistoryFile()


_BACKUP_STATE = "state.json"
# What Keras' BackupAndRestore(save_freq="epoch") left, in runs begun before kerasdil's own backup.
_KERAS_BACKUP_STATE, _KERAS_BACKUP_WEIGHTS = "training_metadata.json", "latest.weights.h5"


def _read_json(path, what_to_do):
    from kerasdil._json import read

    return read(path, what_to_do)


def _restart_hint(backup_dir):
    return f"delete the folder {backup_dir} to restart this run from epoch 1 (the rest of the run folder is kept)"


def _backup_state(backup_dir):
    """``{"epoch", "weights"}`` of the resume state in ``backup_dir``, or None.

    Raises:
        ValueError: the state file is truncated or corrupt (the message names it and the way out).
    """
    state_path = os.path.join(backup_dir, _BACKUP_STATE)
    if os.path.exists(state_path):
        state = _read_json(state_path, _restart_hint(backup_dir))
        if not (isinstance(state, dict) and isinstance(state.get("epoch"), int) and isinstance(state.get("weights"), str)):
            raise ValueError(f"{state_path} does not hold a training state; {_restart_hint(backup_dir)}.")
        return state
    keras_state = os.path.join(backup_dir, _KERAS_BACKUP_STATE)
    if os.path.exists(keras_state) and os.path.exists(os.path.join(backup_dir, _KERAS_BACKUP_WEIGHTS)):
        state = _read_json(keras_state, _restart_hint(backup_dir))
        if not isinstance(state, dict) or not isinstance(state.get("epoch"), int):
            raise ValueError(f"{keras_state} does not hold a training state; {_restart_hint(backup_dir)}.")
        return {"epoch": state["epoch"], "weights": _KERAS_BACKUP_WEIGHTS}
    return None


def _backup_callback(backup_dir):
    """Resume state in ``backup_dir``, safe against a kill at any instant.

    Keras' ``BackupAndRestore`` overwrites one weights file in place, so a kill
    while it writes leaves a truncated HDF5 file that the next run cannot open.
    Here every completed epoch writes a new ``epoch-N.weights.h5`` (model and
    optimizer variables) and only then points ``state.json`` at it with an atomic
    rename; files that ``state.json`` does not name are leftovers and are removed.

    Returns:
        ``(callback, epochs)``: the Keras callback, and the number of epochs the
        saved state has completed (0 when there is none), for ``initial_epoch``.
    """
    import keras

    state = _backup_state(backup_dir)

    class EpochBackup(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if state is None:
                return
            optimizer = getattr(self.model, "optimizer", None)
            if optimizer is not None and not optimizer.built:
                optimizer.build(self.model.trainable_variables)  # its variables are in the file too
            weights = os.path.join(backup_dir, state["weights"])
            if not os.path.isfile(weights):
                raise ValueError(f"the training backup {weights} named by {_BACKUP_STATE} is missing; "
                                 f"{_restart_hint(backup_dir)}.")
            try:
                self.model.load_weights(weights)
            except Exception as e:  # h5py and Keras raise many types for a truncated or foreign file
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise ValueError(f"the training backup {weights} cannot be read ({first}); "
                                 f"{_restart_hint(backup_dir)}.") from None

        def on_epoch_end(self, epoch, logs=None):
            os.makedirs(backup_dir, exist_ok=True)
            name = f"epoch-{epoch + 1}.weights.h5"
            self.model.save_weights(os.path.join(backup_dir, name), overwrite=True)
            _atomic_json(os.path.join(backup_dir, _BACKUP_STATE), {"epoch": epoch + 1, "weights": name})
            for other in os.listdir(backup_dir):
                path = os.path.join(backup_dir, other)
                if other not in (name, _BACKUP_STATE) and os.path.isfile(path):
                    os.remove(path)

        def on_train_end(self, logs=None):
            shutil.rmtree(backup_dir, ignore_errors=True)

    return EpochBackup(), state["epoch"] if state else 0


class TrainingDiverged(ValueError):
    """Training stopped because the loss (or another logged value) became NaN or infinite.

    Raised at the first training step whose loss is not finite, before that epoch's
    history entry or backup is written, so the run folder keeps the last good epoch.
    A ``ValueError``: ``kerasdil train`` prints it as one sentence and exits 2.
    """


def _finite_guard(backup_dir):
    """A callback that raises :class:`TrainingDiverged` at the first non-finite loss.

    Keras' ``TerminateOnNaN`` only stops the run: the epoch still ends, so its NaN
    weights would be backed up and saved as the model, and the command would succeed.
    """
    import keras

    class FiniteGuard(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self._stop(f"the training loss became {float(loss)} at step {batch + 1} of epoch {self.epoch + 1}")

        def on_epoch_end(self, epoch, logs=None):
            bad = []
            for key, value in (logs or {}).items():
                try:
                    value = float(value)
                except (TypeError, ValueError):  # not a scalar: not a loss or metric
                    continue
                if not math.isfinite(value):
                    bad.append(f"{key} = {value}")
            if bad:
                self._stop(f"{', '.join(bad)} at the end of epoch {epoch + 1}")

        def _stop(self, what):
            state = _backup_state(backup_dir) if os.path.isdir(backup_dir) else None
            kept = (f"{backup_dir} keeps the weights of epoch {state['epoch']}, the last good one"
                    if state else "no epoch had completed, so no weights were saved")
            raise TrainingDiverged(
                f"training diverged: {what}; {kept}, and nothing of the diverged epoch was written. "
                "Lower the learning rate (--lr) and train into a new --out."
            )

    return FiniteGuard()


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
        first_epoch=0):
    """Fit a compiled ``model`` with checkpoint/resume and per-epoch history in ``out_dir``.

    Training data that composes new MNIST scenes every epoch
    (``mnist_scenes(new_scenes_every_epoch=True)``) is tied to the epoch index
    (``kerasdil.data.scenes.scene_epoch_callback``): a resumed run sees, at
    every epoch, the scenes an uninterrupted run would have seen.

    Args:
        first_epoch: index of this fit's first epoch in a longer run (for the
            scene sequence; e.g. the all-layers phase of fine-tuning).

    Returns:
        The list of per-epoch history entries (all epochs, across restarts).
    """
    from kerasdil.data import repeat_epochs
    from kerasdil.data.scenes import scene_epoch_callback

    os.makedirs(out_dir, exist_ok=True)
    history_path = os.path.join(out_dir, "history.json")
    scenes = scene_epoch_callback(train_data, first_epoch)
    backup, completed_epochs = _backup_callback(os.path.join(out_dir, "backup"))
    if completed_epochs:
        print(f"resuming {out_dir}: {completed_epochs} of {epochs} epochs were done; continuing at epoch "
              f"{completed_epochs + 1}", flush=True)
    cbs = [
        # The guard first: a diverged epoch must raise before its history entry and backup are written.
        _finite_guard(os.path.join(out_dir, "backup")),
        # History next: an epoch's entry is on disk before its backup, so a kill between
        # the two redoes the epoch and rewrites the entry; the other way round would lose it.
        _history_callback(history_path),
        backup,
        *([scenes] if scenes is not None else []),
        *callbacks,
    ]
    # One iterator for all epochs: a new one per epoch idles seconds at each epoch's start.
    train_data, steps = repeat_epochs(train_data)
    # shuffle=False: the tf.data pipeline shuffles; Keras ignores (and warns about) its own flag here.
    model.fit(train_data, validation_data=validation_data, epochs=epochs, steps_per_epoch=steps, callbacks=cbs,
              verbose=verbose, initial_epoch=completed_epochs, shuffle=False)
    with open(history_path) as f:
        return json.load(f)


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


def _is_chief():
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
    run = json.loads(json.dumps(run, default=_json_default))
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
        previous = _read_json(run_path, fresh)
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
        metrics = _read_json(metrics_path, fresh)
        history = _read_json(os.path.join(out_dir, "history.json"), fresh)
        from kerasdil.saving import load_model  # registers kerasdil's layers and model class first

        return TrainResult(load_model(model_path), history, metrics, out_dir)
    return None


def data_info_for(info, model_kwargs):
    """``info`` (a zoo ``ModelInfo``) with the ``input_shape`` that ``model_kwargs`` ask for.

    The task's data sets are made at ``info.input_shape`` (for segmentation,
    the scene canvas), so a model built for another size gets data of its size.
    """
    shape = (model_kwargs or {}).get("input_shape")
    if shape is None:
        return info
    if (
        isinstance(shape, (str, bytes))
        or not hasattr(shape, "__len__")
        or len(shape) != len(info.input_shape)
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise ValueError(
            f"{info.name}: `input_shape` must be {len(info.input_shape)} known positive sizes like "
            f"{tuple(info.input_shape)} (the data are made at that size), got {shape!r}."
        )
    return dataclasses.replace(info, input_shape=tuple(shape))


def check_data_fits_model(dataset, model):
    """Raise a clear ValueError when ``dataset``'s images and ``model``'s input differ in size."""
    data_shape = tuple(dataset.element_spec[0].shape)[1:]
    model_shape = tuple(model.input_shape)[1:]
    if len(data_shape) != len(model_shape):
        return
    for d, m in zip(data_shape, model_shape):
        if d is not None and m is not None and d != m:
            raise ValueError(
                f"the data set's images are {'x'.join(map(str, data_shape))} but model {model.name!r} takes "
                f"{'x'.join(map(str, model_shape))}; build the model for the size of its data (input_shape)."
            )


def user_data_for(data, data_options, info, model_kwargs, seed):
    """The ``DataSpec`` of the user's data (None for MNIST sources), sized for ``model_kwargs``.

    An ``input_shape`` in ``model_kwargs`` sets the image size and channels the data
    is brought to, unless ``data_options`` name them.
    """
    from kerasdil.data.sources import is_user_data, load_data

    if not is_user_data(data):
        if data_options:
            raise ValueError(
                f"data options ({', '.join(sorted(data_options))}) apply to your own data (an image folder, "
                "'tfds:NAME', arrays); MNIST sources take none."
            )
        return None
    options = dict(data_options or {})
    shape = model_kwargs.get("input_shape")
    if shape is not None and len(shape) == 3:
        options.setdefault("image_size", tuple(shape[:2]))
        options.setdefault("channels", shape[2])
    options.setdefault("seed", seed)
    return load_data(data, task=info.task, **options)


def model_kwargs_for_data(spec, info, model_kwargs):
    """``model_kwargs`` with the data's ``input_shape`` and ``num_classes``; a contradiction is an error."""
    kwargs = dict(model_kwargs)
    for key, value in (("input_shape", list(spec.input_shape)), ("num_classes", spec.num_classes)):
        given = kwargs.get(key)
        if given is not None and (list(given) if key == "input_shape" else given) != value:
            raise ValueError(
                f"{info.name}: model_kwargs {key}={given!r} but the data gives {value!r}; drop it from "
                "model_kwargs, or bring the data to it (image_size, channels)."
            )
        kwargs[key] = tuple(value) if key == "input_shape" else value
    return kwargs


def user_datasets(spec, *, batch_size, augment=False, limit=None, seed=0):
    """``(train, validation, test, description)`` pipelines of a ``DataSpec``, as a task's ``datasets`` gives them."""
    train = spec.dataset("train", batch_size=batch_size, augment=augment, limit=limit, seed=seed)
    validation = spec.dataset("validation", batch_size=batch_size, shuffle=False)
    test = spec.dataset("test", batch_size=batch_size, shuffle=False, limit=limit)
    return train, validation, test, spec.description


def sized_by_data(settings, spec, overrides):
    """``settings`` with the recipe's ``sized_by_data`` function (``"module:function"`` of the
    training examples and the input length) applied; arguments the caller gave win."""
    import importlib

    if not settings.get("sized_by_data"):
        return settings
    module, _, function = settings["sized_by_data"].partition(":")
    sized = getattr(importlib.import_module(module), function)(spec.sizes()["train"], spec.input_shape[0])
    return {**settings, **{k: v for k, v in sized.items() if overrides.get(k) is None}}


def early_stopping(settings, validation_data):
    """Early stopping on the validation loss, best weights restored, when the recipe has an
    ``early_stopping_patience`` (epochs) and there is validation data."""
    import keras

    patience = settings.get("early_stopping_patience")
    if not patience or validation_data is None:
        return ()
    return (keras.callbacks.EarlyStopping("val_loss", patience=int(patience), restore_best_weights=True),)


def describe_data_arg(data, spec):
    """What run.json records for ``data``: the argument itself, or the user data's source line."""
    if data is None:
        return None
    if spec is not None:
        return spec.record["source"]  # an absolute folder path, so evaluate finds it from anywhere
    return str(data)


def _scene_settings(info, settings, model_kwargs, scenes, jitter, train_scenes):
    """Fold the scene arguments of ``train`` into ``settings`` (in place).

    Returns:
        ``(build_kwargs, scene_data)``: the builder arguments (``model_kwargs``
        with the scene canvas as ``input_shape``) and the extra arguments of the
        task's ``datasets``.
    """
    if info.task != "segmentation":
        if scenes is not None or jitter is not None or train_scenes is not None:
            raise ValueError(f"scene settings (canvas, scale, digits, jitter, train scenes) apply to segmenters; "
                             f"{info.name!r} is a {info.task} model.")
        return model_kwargs, {}
    from kerasdil.data.scenes import SceneConfig

    if scenes is not None:
        if not isinstance(scenes, dict):
            raise ValueError(f"`scenes` must be a dict of SceneConfig fields, got {scenes!r}.")
        unknown = sorted(set(scenes) - {f.name for f in dataclasses.fields(SceneConfig)})
        if unknown:
            raise ValueError(f"`scenes` has unknown field(s) {', '.join(unknown)}; "
                             f"the fields are {', '.join(f.name for f in dataclasses.fields(SceneConfig))}.")
        settings["scenes"] = {**settings.get("scenes", {}), **scenes}
    if jitter is not None:
        settings["jitter"] = jitter
    if train_scenes is not None:
        settings["train_scenes"] = train_scenes
    data_info_for(info, model_kwargs)  # a malformed input_shape is one sentence before anything else
    look = dict(settings.get("scenes") or {})
    canvas = look.pop("canvas_size", None)
    shape = model_kwargs.get("input_shape")
    if shape is not None and canvas is not None:
        if scenes and "canvas_size" in scenes and tuple(shape[:2]) != tuple(canvas):
            raise ValueError(f"the scene canvas {tuple(canvas)} and the model's input_shape {tuple(shape)} differ; "
                             "give one of them.")
        canvas = None  # a model built for another size gets scenes of its size, not the recipe's canvas
    if canvas is not None:
        canvas = SceneConfig(canvas_size=canvas, **look).canvas_size  # one clear sentence for bad values
    else:
        SceneConfig(canvas_size=tuple(shape[:2]) if shape else tuple(info.input_shape[:2]), **look)
    if not isinstance(settings.get("jitter", False), bool):
        raise ValueError(f"`jitter` must be True or False, got {settings['jitter']!r}.")
    count = settings.get("train_scenes")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"`train_scenes` must be an int >= 1, got {count!r}.")
    build_kwargs = dict(model_kwargs)
    if canvas is not None:
        build_kwargs["input_shape"] = (*canvas, info.input_shape[2])
    scene_data = dict(look)
    if settings.get("jitter"):
        scene_data["jitter"] = True
    if count:
        scene_data["num_train"] = count
    return build_kwargs, scene_data


def save_finished_run(model, history, metrics, train_seconds, out_dir):
    """Add the timing to ``metrics``, then write ``model.keras`` and ``metrics.json`` into
    ``out_dir`` (each whole or not at all; the metrics last, so they mark a finished run).

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
    _atomic_json(os.path.join(out_dir, "metrics.json"), metrics)
    return TrainResult(model, history, metrics, out_dir)


def _distiller(student, settings):
    """A ``kerasdil.distill.Distiller`` of ``student`` and the teacher ``settings`` names."""
    from kerasdil.distill import Distiller
    from kerasdil.saving import resolve_model

    teacher = resolve_model(settings["teacher"], "teacher", expect_trained=True)
    return Distiller(student, teacher, alpha=settings["alpha"], temperature=settings["temperature"])


def train(
    name,
    *,
    out_dir,
    epochs=None,
    batch_size=None,
    learning_rate=None,
    weight_decay=None,
    label_smoothing=None,
    data=None,
    augment=None,
    limit=None,
    seed=0,
    strategy=None,
    sync_batchnorm=False,
    model_kwargs=None,
    teacher=None,
    distill_alpha=None,
    distill_temperature=None,
    data_options=None,


    scenes=None,
    jitter=None,
    train_scenes=None,
    verbose="auto",
    log=print,
):
    """Train zoo model ``name`` with its recipe; resumable; artifacts in ``out_dir``.

    Args:
        name: zoo model name (``kerasdil.zoo.list_models()``).
        out_dir: run directory (created). Rerunning with the same arguments resumes.
        epochs, batch_size, learning_rate, weight_decay, augment: override the recipe.
            For classifiers ``augment`` may also be a dict of augmentation settings
            (``kerasdil.data.AUGMENTATION`` keys, e.g. ``{"elastic_alpha": 17}``):
            augmentation on, with those settings changed.
        label_smoothing: train on smoothed targets (a float in [0, 1)); default
            the recipe's (0 for every shipped recipe).
        data: MNIST as ``kerasdil.data`` takes it ("sample", an .npz file, a folder holding
            mnist.npz, None for the default search order), or the user's own data as
            ``kerasdil.data.sources.load_data`` takes it: a folder of class subfolders, a
            folder of images/ and masks/, "tfds:NAME[:CONFIG]", ``(x, y)`` arrays, a
            ``tf.data.Dataset`` or a ``DataSpec``. With the user's data the model is built
            for its input shape and classes (``model_kwargs`` may not contradict them),
            and ``data.json`` in ``out_dir`` records what was read and how.
        data_options: for the user's data, ``load_data``'s options: ``image_size``,
            ``resize``, ``channels``, ``validation_split``, ``data_dir``, ``num_classes``,
            ``class_names``.
        limit: use only the first ``limit`` training and test images.
        seed: shuffling / augmentation seed.
        strategy: None, "mirrored" or "multiworker" (``kerasdil.distribute``).
        sync_batchnorm: with a strategy, BatchNormalization computes its batch
            statistics over all replicas (``kerasdil.distribute.synchronize_batchnorm``).
        model_kwargs: extra builder arguments (e.g. ``dilation_schedule``). An
            ``input_shape`` also sets the size the data is made at (for a
            segmenter, the MNIST scenes canvas).
        teacher: distil from this trained classifier (a zoo name with tag such as
            ``"mnist_dsdc:mnist"``, or a ``.keras`` file): ``kerasdil.distill``.
            Only the student is saved. Classification only.
        distill_alpha, distill_temperature: the distillation loss's hard-label
            weight and temperature (default ``kerasdil.distill``'s 0.1 and 10).
        scenes: segmenters only: how the MNIST scenes look, a dict of
            ``kerasdil.data.scenes.SceneConfig`` fields (``canvas_size``,
            ``digits_per_image``, ``scale_range``, ...) that replace the
            recipe's. A ``canvas_size`` builds the model at that size (the
            segmenters are fully convolutional, so its weights also load at
            any other size).
        jitter: segmenters only: photometric jitter of the training scenes
            (``kerasdil.data.scenes.jitter_scenes``); default the recipe's.
        train_scenes: segmenters only: training scenes per epoch (default the
            recipe's, else 10,000).
        verbose: Keras ``fit`` verbosity ("auto" shows the progress bar).
        log: function for one-line progress messages.

    Returns:
        ``TrainResult``.

    Raises:
        ValueError: unknown model, bad arguments, or ``out_dir`` holding a run made
            with different arguments.

    Example:
        >>> result = train("mnist_dsdc", out_dir="runs/quick", epochs=1, data="sample")
        >>> result.metrics["accuracy"]
    """
    if not isinstance(sync_batchnorm, bool):
        raise ValueError(f"`sync_batchnorm` must be True or False, got {sync_batchnorm!r}.")
    if sync_batchnorm and not strategy:
        raise ValueError(
            "sync_batchnorm synchronizes BatchNormalization across the replicas of a distribution strategy; "
            "pass strategy='mirrored' or 'multiworker' too (--strategy on the command line)."
        )
    dist = None
    if strategy:
        # First, before any TensorFlow op: collectives can only be configured at startup.
        from kerasdil.distribute import make_strategy

        dist = make_strategy(strategy)

    import keras

    from kerasdil.tasks import get_task
    from kerasdil.zoo import create_model, model_info
    from kerasdil.zoo.stats import model_stats

    info = model_info(name)
    task = get_task(info.task)
    settings = recipe(name)
    overrides = dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
                     label_smoothing=label_smoothing, augment=augment)
    for key, value in overrides.items():
        if value is not None:
            settings[key] = value
    for key in ("epochs", "batch_size"):
        if not isinstance(settings[key], int) or settings[key] < 1:
            raise ValueError(f"`{key}` must be a positive int, got {settings[key]!r}.")
    lr = settings["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not lr > 0:
        raise ValueError(f"`learning_rate` (--lr) must be a finite number > 0, got {lr!r}.")
    for key, low, high, text in (("weight_decay", 0.0, float("inf"), ">= 0"), ("label_smoothing", 0.0, 1.0, "in [0, 1)")):
        value = settings.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high:
            raise ValueError(f"`{key}` must be a number {text}, got {value!r}.")
    if isinstance(settings["augment"], dict):
        if info.task != "classification":
            raise ValueError(
                f"augmentation settings apply to MNIST classifiers; {name!r} is a {info.task} model "
                "(turn augmentation on or off instead: augment=True/False in Python, --no-augment on the command line)."
            )
        from kerasdil.data import augmentation_settings

        settings["augment"] = augmentation_settings(settings["augment"])
    elif not isinstance(settings["augment"], bool):
        raise ValueError(f"`augment` must be True, False or a dict of augmentation settings, got {settings['augment']!r}.")
    model_kwargs = dict(model_kwargs or {})
    user_data = user_data_for(data, data_options, info, model_kwargs, seed)  # raises before anything is written
    if user_data is not None:
        model_kwargs = model_kwargs_for_data(user_data, info, model_kwargs)
        settings = sized_by_data(settings, user_data, overrides)
        if info.task == "segmentation":
            settings["augment"] = False  # the segmentation recipe's augmentation is new MNIST scenes every epoch
    build_kwargs, scene_data = _scene_settings(info, settings, model_kwargs, scenes, jitter, train_scenes)
    data_info = data_info_for(info, build_kwargs)
    run = {"model": name, "model_kwargs": model_kwargs, "data": describe_data_arg(data, user_data), "limit": limit,
           "seed": seed, "strategy": strategy, **settings}
    if user_data is not None:
        run["data_options"] = dict(data_options or {})
    if sync_batchnorm:
        run["sync_batchnorm"] = True  # only when on, so runs made without the option still resume
    if teacher is not None or distill_alpha is not None or distill_temperature is not None:
        from kerasdil import distill

        if teacher is None:
            raise ValueError("`distill_alpha` and `distill_temperature` need a `teacher`.")
        if info.task != "classification":
            raise ValueError(f"distillation is for classifiers; {name!r} is a {info.task} model.")
        run["distill"] = {
            "teacher": str(teacher),
            "alpha": distill.DEFAULT_ALPHA if distill_alpha is None else float(distill_alpha),
            "temperature": distill.DEFAULT_TEMPERATURE if distill_temperature is None else float(distill_temperature),
        }

    if not _is_chief():
        # Non-chief workers of a multi-worker run write their checkpoints elsewhere.
        out_dir = os.path.join(out_dir, f"worker-{json.loads(os.environ['TF_CONFIG'])['task']['index']}")
    run_path = os.path.join(out_dir, "run.json")
    lock = RunLock(out_dir)  # one run at a time in a folder
    with run_folder(out_dir, "training", lock=lock):  # a refused run leaves no folder behind
        finished = open_run_dir(out_dir, run, log)
        if finished is not None:
            lock.release()
            return finished
        keras.utils.set_random_seed(seed)
        if user_data is not None:
            train_ds, val_ds, test_ds, source_text = user_datasets(
                user_data, batch_size=settings["batch_size"], augment=settings["augment"], limit=limit, seed=seed)
        else:
            train_ds, val_ds, test_ds, source_text = task.datasets(
                data_info, batch_size=settings["batch_size"], source=data, augment=settings["augment"], limit=limit,
                seed=seed, validation_size=settings.get("validation_size", 5000), **scene_data,
            )
        log(source_text)
        steps = int(train_ds.cardinality())
        # A strategy's scope can be entered once: everything that needs it goes here.
        with dist.scope() if dist is not None else contextlib.nullcontext():
            model = create_model(name, **build_kwargs)
            check_data_fits_model(train_ds, model)
            if sync_batchnorm:
                from kerasdil.distribute import synchronize_batchnorm

                log(f"synchronized BatchNormalization: {synchronize_batchnorm(model)} layers, statistics over "
                    f"{dist.num_replicas_in_sync} replicas")
            trainee = model
            if "distill" in run:
                trainee = _distiller(model, run["distill"])
            _atomic_json(run_path, run)  # only once the run can start: a refused one leaves no run behind
            if user_data is not None:
                from kerasdil.data.sources import write_data_record

                write_data_record(user_data, out_dir)
            compile_model(
                trainee, task, learning_rate=settings["learning_rate"], weight_decay=settings["weight_decay"],
                decay_steps=steps * settings["epochs"] if steps > 0 else None,
                label_smoothing=settings.get("label_smoothing", 0.0),
            )
    try:
        stats = model_stats(model)
        log(f"model: {name} ({stats['params']:,} params, {stats['macs']:,} MACs/image); "
            f"{settings['epochs']} epochs x {steps} steps, batch {settings['batch_size']}, lr {settings['learning_rate']}, "
            f"weight decay {settings['weight_decay']}"
            + (f", label smoothing {settings['label_smoothing']}" if settings.get("label_smoothing") else ""))

        start = time.perf_counter()
        history = fit(trainee, train_ds, epochs=settings["epochs"], out_dir=out_dir, task=task,
                      validation_data=val_ds, verbose=verbose, callbacks=early_stopping(settings, val_ds))
        train_seconds = time.perf_counter() - start

        from kerasdil.plots import plot_history

        plot_history(history, os.path.join(out_dir, "curves.png"), title=name)
        metrics = task.evaluate(model, test_ds, out_dir=out_dir,
                                class_names=user_data.class_names if user_data is not None else None)
        metrics.update(model=name, **stats, data=source_text)
        return save_finished_run(model, history, metrics, train_seconds, out_dir)
    finally:
        lock.release()

