"""keras-tuner oracles and tuners for dilation-schedule search: resumable, atomic, with worker leases.

Re-exported by :mod:`kerasdil.tune.tuners`, whose docstring describes resume and distributed search.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Optional

import keras_tuner as kt

from kerasdil import _compat
from kerasdil.tune._search_files import _write_json


#: Tuner names accepted by :func:`search` and ``kerasdil tune --tuner``.
TUNERS = ("random", "bayesian", "hyperband")
#: The default objective (mnist_dsdc's): accuracy on the validation split carved from the training set.
#: A family sets its own (deeplab_aspp: "val_mean_iou"); see ``SearchFamily.objective``.
OBJECTIVE = "val_accuracy"
#: Per-trial log of starts, inside each ``trial_*`` folder.
RUNS_FILE = "kerasdil_runs.jsonl"

_TrialStatus = _compat.trial_status()
RUNNING = _TrialStatus.RUNNING
COMPLETED = _TrialStatus.COMPLETED
IDLE = _TrialStatus.IDLE
STOPPED = _TrialStatus.STOPPED


# ---------------------------------------------------------------------------
# trial names


def trial_name(trial_id) -> str:
    """The one name of a trial everywhere: its folder name, ``trial_<keras-tuner trial_id>``.

    Example:
        >>> trial_name("03")
        'trial_03'
    """
    return f"trial_{trial_id}"


def _display_class():
    from kerasdil import _compat

    Display = _compat.tuner_display_class()

    class TrialDisplay(Display):
        """keras-tuner's progress lines, naming each trial by its folder (``trial_03``), not a running count.

        keras-tuner prints "Running Trial #4" for the trial whose id and folder
        are ``03``; the summary and the report use the folder name, so the log
        does too. Its hyperparameter table also cuts long values (a schedule
        reads ``s1=1,2,4;s2=1,2...``); here every value is printed whole.
        """

        def on_trial_begin(self, trial):
            if self.verbose < 1:
                return
            import datetime

            start = datetime.datetime.now()
            self.trial_start[trial.trial_id] = start
            if self.search_start is None:
                self.search_start = start
            self.trial_number[trial.trial_id] = len(self.oracle.trials)
            print(f"\nSearch: running {trial_name(trial.trial_id)}", flush=True)
            for hp, value in trial.hyperparameters.values.items():
                print(f"  {hp} = {self.format_value(value)}", flush=True)

        def on_trial_end(self, trial):
            if self.verbose < 1:
                return
            import datetime

            took = self.format_duration(datetime.datetime.now() - self.trial_start.get(trial.trial_id,
                                                                                         datetime.datetime.now()))
            score = "no score" if trial.score is None else f"{self.oracle.objective.name} {trial.score:.4f}"
            best = self.oracle.get_best_trials()
            best_text = (f"; best so far {trial_name(best[0].trial_id)} {best[0].score:.4f}"
                         if best and best[0].score is not None else "")
            print(f"{trial_name(trial.trial_id)} {str(trial.status).lower()} [{took}]: {score}{best_text}",
                  flush=True)

        def format_value(self, val):
            if isinstance(val, (int, float)) and not isinstance(val, bool):
                return f"{val:.5g}"
            return str(val)

    return TrialDisplay


# ---------------------------------------------------------------------------
# oracles


class ResumableOracleMixin:
    """Reload repair, no repeated candidates, and worker leases for keras-tuner oracles.

    - ``reload``: after keras-tuner's own reload (which re-queues the trials
      that were running), drop from the queue any trial whose file says it
      completed, and queue any trial whose file says it was running but that
      the oracle state lost.
    - ``create_trial``: while other workers still hold trials, a worker that
      would be told "stopped" is told "idle" instead, so it stays to take over
      a trial whose worker dies.
    - leases (distributed chief only, ``lease_seconds`` set): a worker that has
      not called the oracle for ``lease_seconds`` is presumed dead; its trial
      goes back to the queue and its tuner id is forgotten.
    - ``end_trial`` of a trial that already completed is ignored, so a late
      report of a reassigned trial cannot count twice.
    """

    lease_seconds: Optional[float] = None

    def _kd_init(self, lease_seconds=None):
        self.lease_seconds = lease_seconds
        self._last_seen = {}
        self._kd_lock = threading.RLock()

    # -- helpers -----------------------------------------------------------

    def _seen(self, tuner_id=None, trial_id=None):
        now = time.monotonic()
        if tuner_id is not None:
            self._last_seen[tuner_id] = now
        if trial_id is not None:
            for tid, trial in list(self.ongoing_trials.items()):
                if trial.trial_id == trial_id:
                    self._last_seen[tid] = now

    @kt.synchronized
    def expire_dead_tuners(self):
        """Re-queue the trials of workers silent for longer than the lease; returns their ids."""
        if not self.lease_seconds:
            return []
        now = time.monotonic()
        dead = [t for t in list(self.tuner_ids) if now - self._last_seen.get(t, now) > self.lease_seconds]
        for tuner_id in dead:
            trial = self.ongoing_trials.pop(tuner_id, None)
            self.tuner_ids.discard(tuner_id)
            self._last_seen.pop(tuner_id, None)
            retry_queue = _compat.oracle_retry_queue(self)
            if trial is not None and trial.status != COMPLETED and trial.trial_id not in retry_queue:
                retry_queue.append(trial.trial_id)
                print(f"kerasdil tune: no word from {tuner_id} for {self.lease_seconds:g} s; "
                      f"trial {trial.trial_id} goes back to the queue.", flush=True)
            else:
                print(f"kerasdil tune: no word from {tuner_id} for {self.lease_seconds:g} s; forgetting it.",
                      flush=True)
        if dead:
            self.save()
        return dead

    # -- keras-tuner overrides ---------------------------------------------

    @kt.synchronized
    def create_trial(self, tuner_id):
        self._seen(tuner_id=tuner_id)
        self.expire_dead_tuners()
        trial = super().create_trial(tuner_id)
        if trial.status == STOPPED:
            others = [t for t in self.ongoing_trials if t != tuner_id]
            if others:
                # Stay: one of those trials may come back to the queue if its worker dies.
                self.tuner_ids.add(tuner_id)
                return _compat.trial_class()(self.hyperparameters.copy(), trial_id=None, status=IDLE)
        return trial

    @kt.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        self._seen(trial_id=trial_id)
        return super().update_trial(trial_id, metrics, step=step)

    @kt.synchronized
    def get_trial(self, trial_id):
        # Workers call this as their heartbeat while they train.
        self._seen(trial_id=trial_id)
        return super().get_trial(trial_id)

    @kt.synchronized
    def end_trial(self, trial):
        self._seen(trial_id=trial.trial_id)
        known = self.trials.get(trial.trial_id)
        if known is not None and known.status == COMPLETED and trial.trial_id in self.end_order:
            print(f"kerasdil tune: trial {trial.trial_id} was already completed; ignoring a second report.",
                  flush=True)
            for tid, ongoing in list(self.ongoing_trials.items()):
                if ongoing.trial_id == trial.trial_id:
                    self.ongoing_trials.pop(tid)
            return
        if trial.trial_id in _compat.oracle_retry_queue(self):
            # A worker presumed dead finished after all: take its result, drop the rerun.
            _compat.oracle_retry_queue(self).remove(trial.trial_id)
        return super().end_trial(trial)

    # keras-tuner writes its state files in place; a kill during such a write leaves
    # a truncated JSON file that stops the next resume. These write and rename.

    def save(self):
        _write_json(_compat.oracle_state_file(self), self.get_state())

    def _save_trial(self, trial):  # a keras-tuner hook: _compat.OVERRIDDEN_HOOKS
        _write_json(os.path.join(_compat.oracle_trial_dir(self, trial.trial_id), "trial.json"), trial.get_state())

    def reload(self):
        super().reload()
        changed = False
        retry_queue = _compat.oracle_retry_queue(self)
        for trial_id in list(retry_queue):
            trial = self.trials.get(trial_id)
            if trial is not None and trial.status == COMPLETED:
                retry_queue.remove(trial_id)
                if trial_id not in self.end_order:
                    self.end_order.append(trial_id)
                changed = True
        for trial_id, trial in self.trials.items():
            if trial.status == RUNNING and trial_id not in retry_queue:
                retry_queue.append(trial_id)
                if trial_id not in self.start_order:
                    self.start_order.append(trial_id)
                changed = True
        if changed:
            self.save()


def _oracle_classes():
    class RandomSearchOracle(ResumableOracleMixin, kt.oracles.RandomSearchOracle):
        pass

    class BayesianOptimizationOracle(ResumableOracleMixin, kt.oracles.BayesianOptimizationOracle):
        def populate_space(self, trial_id):
            # The Gaussian process may propose a candidate already tried; take an untried one instead.
            response = super().populate_space(trial_id)
            if response.get("status") == RUNNING and _compat.oracle_is_duplicate(self, response["values"]):
                values = _compat.oracle_random_values(self)
                if values is None:
                    return {"status": STOPPED, "values": None}
                response = {"status": RUNNING, "values": values}
            return response

    class HyperbandOracle(ResumableOracleMixin, kt.oracles.HyperbandOracle):
        pass

    return {"random": RandomSearchOracle, "bayesian": BayesianOptimizationOracle, "hyperband": HyperbandOracle}


_ORACLES = _oracle_classes()


def make_oracle(tuner: str, *, max_trials: int, epochs: int, seed: int = 0, hyperband_factor: int = 3,
                lease_seconds: Optional[float] = None, space_size: Optional[int] = None,
                objective: str = OBJECTIVE):
    """A keras-tuner oracle of the named kind, with :class:`ResumableOracleMixin`.

    Args:
        tuner: "random", "bayesian" or "hyperband".
        max_trials: total trials (for Hyperband too: the brackets repeat until
            this many trials ran).
        epochs: for Hyperband, ``max_epochs`` (its trials train 1..epochs).
        seed: sampling seed (any int >= 0; the same seed gives the same proposals).
        hyperband_factor: Hyperband's reduction factor.
        lease_seconds: distributed chief only: how long a silent worker keeps
            its trial.
        space_size: number of candidates; raises keras-tuner's collision limit
            so random sampling finds the last untried ones.
        objective: the Keras log name to maximise (default "val_accuracy").

    Raises:
        ValueError: unknown tuner, or the Bayesian tuner without scikit-learn.
    """
    if tuner not in TUNERS:
        raise ValueError(f"unknown tuner {tuner!r}; use one of {', '.join(TUNERS)}.")
    objective = kt.Objective(objective, direction="max")
    # keras-tuner reads seed 0 as "no seed" (a random one); shift by one so every seed is reproducible.
    common = dict(objective=objective, seed=int(seed) + 1, max_retries_per_trial=0, max_consecutive_failed_trials=3)
    if tuner == "bayesian":
        try:
            import scipy  # noqa: F401
            import sklearn  # noqa: F401
        except ImportError:
            raise ValueError(
                "tuner='bayesian' needs scikit-learn and scipy; pip install scikit-learn scipy "
                "(or use tuner='random' or 'hyperband')."
            ) from None
    if tuner == "hyperband":
        oracle = _ORACLES[tuner](max_epochs=epochs, factor=hyperband_factor, hyperband_iterations=None, **common)
        oracle.max_trials = max_trials
    else:
        oracle = _ORACLES[tuner](max_trials=max_trials, **common)
    if space_size:
        _compat.raise_oracle_collisions(oracle, 10 * space_size)
    oracle._kd_init(lease_seconds)
    oracle._display = _display_class()(oracle=oracle, verbose=oracle._display.verbose)
    return oracle


# ---------------------------------------------------------------------------
# tuners


class _TunerMixin:
    """Per-trial run log, worker heartbeats, and a search loop that waits politely when idle."""

    heartbeat_seconds: float = 5.0
    idle_sleep_seconds: float = 0.5

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        line = {"tuner_id": self.tuner_id, "pid": os.getpid(), "time": time.time()}
        with open(os.path.join(self.get_trial_dir(trial.trial_id), RUNS_FILE), "a") as f:
            f.write(json.dumps(line) + "\n")
        self._heartbeat_stop = threading.Event()
        if _compat.tuner_is_worker(self):
            oracle, stop, every = self.oracle, self._heartbeat_stop, self.heartbeat_seconds

            def beat():
                while not stop.wait(every):
                    try:
                        oracle.get_trial(trial.trial_id)
                    except Exception:  # the chief is gone or busy; the next beat tries again
                        pass

            threading.Thread(target=beat, name=f"kerasdil-heartbeat-{trial.trial_id}", daemon=True).start()

    def save(self):
        # keras-tuner's Tuner.save, with the files written and renamed (ResumableOracleMixin).
        if not _compat.tuner_is_worker(self):
            self.oracle.save()
        _write_json(_compat.tuner_state_file(self), self.get_state())

    def on_trial_end(self, trial):
        stop = getattr(self, "_heartbeat_stop", None)
        if stop is not None:
            stop.set()
        super().on_trial_end(trial)

    def search(self, *fit_args, **fit_kwargs):
        # keras-tuner's loop, except that an IDLE answer waits before asking again.
        dist_utils = _compat.distribute_utils()
        if "verbose" in fit_kwargs and (not dist_utils.has_chief_oracle() or dist_utils.is_chief_oracle()):
            self.oracle.verbose = fit_kwargs.get("verbose")
        if dist_utils.is_chief_oracle():
            raise RuntimeError("the chief serves the oracle; use kerasdil.tune.distributed.serve_oracle.")
        self.on_search_begin()
        while True:
            self.pre_create_trial()
            trial = self.oracle.create_trial(self.tuner_id)
            if trial.status == STOPPED:
                break
            if trial.status == IDLE:
                time.sleep(self.idle_sleep_seconds)
                continue
            self.on_trial_begin(trial)
            _compat.run_and_update_trial(self, trial, *fit_args, **fit_kwargs)
            self.on_trial_end(trial)
        self.on_search_end()


class ScheduleTuner(_TunerMixin, kt.Tuner):
    """keras-tuner's Tuner (used with the random and Bayesian oracles)."""


class ScheduleHyperbandTuner(_TunerMixin, kt.tuners.Hyperband):
    """keras-tuner's Hyperband tuner (epochs per round, weights carried between rounds)."""

    def __init__(self, oracle, hypermodel, **kwargs):
        # Skip Hyperband.__init__, which builds its own oracle; keep its run_trial.
        kt.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)


def make_tuner(hypermodel, oracle, tuner: str, *, directory: str, project_name: str, overwrite: bool = False):
    """The keras-tuner Tuner for ``oracle`` (Hyperband's tuner for "hyperband")."""
    cls = ScheduleHyperbandTuner if tuner == "hyperband" else ScheduleTuner
    return cls(oracle=oracle, hypermodel=hypermodel, directory=directory, project_name=project_name,
               overwrite=overwrite)
