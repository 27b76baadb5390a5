"""What a run keeps on disk while it trains: the per-epoch history, the resume state
(weights of the last completed epoch, and of the best epoch when early stopping is on)
and the guard that stops a diverged run before any of it is written.

Used by :mod:`kerasdil.run`; every file is written under a temporary name and renamed,
as strict JSON (a non-finite number is ``null``).
"""

import math
import os
import time

import numpy as np

_BACKUP_STATE = "state.json"
# What Keras' BackupAndRestore(save_freq="epoch") left, in runs begun before kerasdil's own backup.
_KERAS_BACKUP_STATE, _KERAS_BACKUP_WEIGHTS = "training_metadata.json", "latest.weights.h5"


def json_default(o):
    """``json.dumps``' ``default`` for numpy scalars and tuples; anything else as its text."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    return str(o)


def atomic_json(path, data):
    """Write ``path`` whole or not at all (a kill mid-write leaves the old file), as strict JSON."""
    from kerasdil._json import dumps  # NaN / Inf written as null: the file stays valid JSON
    from kerasdil.io import write_text_atomic  # a unique temporary name per call, then a rename

    write_text_atomic(path, dumps(data, indent=2, default=json_default))


def read_json(path, what_to_do):
    """The JSON in ``path``; a truncated or corrupt file is a ValueError naming ``what_to_do``."""
    from kerasdil._json import read

    return read(path, what_to_do)


def history_callback(path):
    """A Keras callback appending each epoch's logs to the JSON list in ``path``."""
    import keras

    class HistoryFile(keras.callbacks.Callback):
        """Per-epoch logs appended to a JSON file; after a resume the entries past the
        restored epoch are dropped, so the file always matches the weights."""

        def on_train_begin(self, logs=None):
            self.entries = []
            if os.path.exists(path):
                self.entries = read_json(path, f"delete it to resume without the earlier epochs' log, or "
                                               f"delete the folder {os.path.dirname(path)} to train afresh")

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            entry = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self._start, 3)}
            entry.update({k: float(v) for k, v in (logs or {}).items()})
            self.entries = [e for e in self.entries if e["epoch"] <= epoch] + [entry]
            atomic_json(path, self.entries)

    return HistoryFile()


def restart_hint(backup_dir):
    return f"delete the folder {backup_dir} to restart this run from epoch 1 (the rest of the run folder is kept)"


def backup_state(backup_dir):
    """``{"epoch", "weights"[, "best", "stopped"]}`` of the resume state in ``backup_dir``, or None.

    ``best`` (early stopping) is ``{"epoch", "value", "weights", "waited"}``; ``stopped``
    is True once early stopping ended the run.

    Raises:
        ValueError: the state file is truncated or corrupt (the message names it and the way out).
    """
    state_path = os.path.join(backup_dir, _BACKUP_STATE)
    if os.path.exists(state_path):
        state = read_json(state_path, restart_hint(backup_dir))
        if not (isinstance(state, dict) and isinstance(state.get("epoch"), int) and isinstance(state.get("weights"), str)):
            raise ValueError(f"{state_path} does not hold a training state; {restart_hint(backup_dir)}.")
        return state
    keras_state = os.path.join(backup_dir, _KERAS_BACKUP_STATE)
    if os.path.exists(keras_state) and os.path.exists(os.path.join(backup_dir, _KERAS_BACKUP_WEIGHTS)):
        state = read_json(keras_state, restart_hint(backup_dir))
        if not isinstance(state, dict) or not isinstance(state.get("epoch"), int):
            raise ValueError(f"{keras_state} does not hold a training state; {restart_hint(backup_dir)}.")
        return {"epoch": state["epoch"], "weights": _KERAS_BACKUP_WEIGHTS}
    return None


def load_backup_weights(model, backup_dir, name):
    """Load the weights file ``name`` of ``backup_dir`` into ``model``; one clear sentence when it cannot."""
    weights = os.path.join(backup_dir, name)
    if not os.path.isfile(weights):
        raise ValueError(f"the training backup {weights} named by {_BACKUP_STATE} is missing; "
                         f"{restart_hint(backup_dir)}.")
    try:
        model.load_weights(weights)
    except Exception as e:  # h5py and Keras raise many types for a truncated or foreign file
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f"the training backup {weights} cannot be read ({first}); "
                         f"{restart_hint(backup_dir)}.") from None


def _improved(value, best, mode):
    if value is None or not math.isfinite(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


def backup_callback(backup_dir, early_stopping=None):
    """Resume state in ``backup_dir``, safe against a kill at any instant.

    Keras' ``BackupAndRestore`` overwrites one weights file in place, so a kill
    while it writes leaves a truncated HDF5 file that the next run cannot open.
    Here every completed epoch writes a new ``epoch-N.weights.h5`` (model and
    optimizer variables) and only then points ``state.json`` at it with an atomic
    rename; files that ``state.json`` does not name are leftovers and are removed.
    The state outlives the fit: the run engine removes it once the finished model
    and its scores are on disk, so a kill after the last epoch resumes too.

    Args:
        early_stopping: None, or ``{"monitor", "mode", "patience"[, "min_epochs"]}``: the
            state also keeps the best epoch's weights (by ``monitor``), and the run stops once
            ``patience`` epochs in a row did not improve on it (not before ``min_epochs``).

    Returns:
        ``(callback, state)``: the Keras callback, and the saved state (None when
        there is none; its ``epoch`` is the ``initial_epoch``).
    """
    import keras

    state = backup_state(backup_dir)

    class EpochBackup(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.best = dict(state["best"]) if state and state.get("best") else None
            if state is None:
                return
            optimizer = getattr(self.model, "optimizer", None)
            if optimizer is not None and not optimizer.built:
                optimizer.build(self.model.trainable_variables)  # its variables are in the file too
            load_backup_weights(self.model, backup_dir, state["weights"])

        def on_epoch_end(self, epoch, logs=None):
            os.makedirs(backup_dir, exist_ok=True)
            name = f"epoch-{epoch + 1}.weights.h5"
            self.model.save_weights(os.path.join(backup_dir, name), overwrite=True)
            new = {"epoch": epoch + 1, "weights": name}
            if early_stopping:
                value = (logs or {}).get(early_stopping["monitor"])
                value = None if value is None else float(value)
                if _improved(value, self.best and self.best["value"], early_stopping["mode"]):
                    self.best = {"epoch": epoch + 1, "value": value, "weights": name, "waited": 0}
                elif self.best is not None:
                    self.best["waited"] += 1
                keep = self.best or {}
                new["best"] = self.best
                if (self.best is not None and self.best["waited"] >= early_stopping["patience"]
                        and epoch + 1 >= early_stopping.get("min_epochs", 0)):
                    new["stopped"] = True
                    self.model.stop_training = True
            else:
                keep = {}
            atomic_json(os.path.join(backup_dir, _BACKUP_STATE), new)
            for other in os.listdir(backup_dir):
                path = os.path.join(backup_dir, other)
                if other not in (name, keep.get("weights"), _BACKUP_STATE) and os.path.isfile(path):
                    os.remove(path)

    return EpochBackup(), state


class TrainingDiverged(ValueError):
    """Training stopped because the loss (or another logged value) became NaN or infinite.

    Raised at the first training step whose loss is not finite, before that epoch's
    history entry or backup is written, so the run folder keeps the last good epoch.
    A ``ValueError``: ``kerasdil train`` prints it as one sentence and exits 2.
    """


def finite_guard(backup_dir):
    """A callback that raises :class:`TrainingDiverged` at the first non-finite loss.

    ``backup_dir``: the run's resume state, named in the message; None for a search trial.

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
            if backup_dir is None:  # a search trial: it fails, and the search goes on with the next one
                raise TrainingDiverged(f"training diverged: {what}; this trial stops and is recorded as failed.")
            state = backup_state(backup_dir) if os.path.isdir(backup_dir) else None
            kept = (f"{backup_dir} keeps the weights of epoch {state['epoch']}, the last good one"
                    if state else "no epoch had completed, so no weights were saved")
            raise TrainingDiverged(
                f"training diverged: {what}; {kept}, and nothing of the diverged epoch was written. "
                "Lower the learning rate (--lr) and train into a new --out."
            )

    return FiniteGuard()
