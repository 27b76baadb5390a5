"""Local and distributed dilation-schedule search with keras-tuner.

:func:`search` is the library form of ``kerasdil tune``: enumerate and prune the
space, build the tuner (RandomSearch, BayesianOptimization or Hyperband), load
the data, run trials, and leave everything in ``directory/project_name``:

- keras-tuner's own files (``oracle.json``, ``trial_*/trial.json``, each
  trial's best-epoch weights ``trial_*/checkpoint.weights.h5``);
- ``kerasdil_search.json``: the settings, the constraint counts and every
  searchable candidate with its receptive field, gridding verdicts, parameters
  and MACs (read by ``kerasdil tune-report``);
- ``trial_*/kerasdil_runs.jsonl``: one line per time a trial was started
  (which tuner, which process), so repeats are visible.

Data and objective come from the model's family: mnist_dsdc trains on MNIST
images and maximises ``val_accuracy`` on images held out from the training
set; deeplab_aspp trains on MNIST scenes (:class:`kerasdil.tasks.SegmentationTask`,
at the search's input size) and maximises ``val_mean_iou`` on scenes composed
from held-out training digits. The test split is never used.

Resume
------
Rerunning with the same settings continues the search (keras-tuner's
``overwrite=False``): completed trials are kept, a trial that was running when
the process died is run again from its first epoch, and the total stops at
``max_trials``. keras-tuner 1.4.8 saves a trial file and then the oracle file;
a kill between the two writes could leave a finished trial queued for a rerun,
or a started trial that nobody reruns. :class:`ResumableOracleMixin` checks the
trial files against the oracle state when it reloads and repairs both cases.
keras-tuner also writes each of those files in place, so a kill in the middle
of a write would leave a truncated file that the next run cannot read; here
every state file (keras-tuner's and kerasdil's) is written under a temporary
name and renamed over the old one.

Distributed
-----------
One process is the chief (it runs the oracle as a gRPC server and trains
nothing), the others are workers that ask it for trials; see
:mod:`kerasdil.tune.distributed`. keras-tuner 1.4.8 by itself never notices a
worker that died: its trial stays "running" forever and the chief never exits.
Here every worker sends a heartbeat while it trains, and the chief gives the
trial of a worker it has not heard from for ``lease_seconds`` to another worker.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import threading
import time
from typing import Callable, Optional, Sequence

import keras_tuner as kt

from kerasdil import _compat
from kerasdil.tune.constraints import Constraints, PruneResult, ScheduleSpace, prune
from kerasdil.tune.hypermodels import ScheduleHyperModel, get_family


#: Tuner names accepted by :func:`search` and ``kerasdil tune --tuner``.
TUNERS = ("random", "bayesian", "hyperband")
#: The default objective (mnist_dsdc's): accuracy on the validation split carved from the training set.
#: A family sets its own (deeplab_aspp: "val_mean_iou"); see ``SearchFamily.objective``.
OBJECTIVE = "val_accuracy"
#: kerasdil's description of a search, inside the keras-tuner project folder.
SEARCH_FILE = "kerasdil_search.json"
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


# ---------------------------------------------------------------------------
# the search


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


def _write_json(path, data):
    """Write ``path`` whole or not at all (a kill mid-write leaves the old file)."""
    from kerasdil.io import write_text_atomic as write_text  # a unique temporary name per call, then a rename

    from kerasdil._json import dumps  # a NaN score is written as null: the file stays valid JSON

    write_text(path, dumps(data, indent=1))


def load_search_file(project_dir: str) -> dict:
    """Read ``kerasdil_search.json`` of a project folder.

    Raises:
        FileNotFoundError: the folder holds no kerasdil search.
    """
    path = os.path.join(project_dir, SEARCH_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{project_dir!r} holds no kerasdil search ({SEARCH_FILE} is missing).")
    from kerasdil._json import read

    return read(path, _AFRESH)


_AFRESH = "restore it from a copy, or rerun kerasdil tune with --overwrite to start the search afresh"


def check_project_files(project_dir: str) -> None:
    """Refuse to resume a search whose state files are truncated or corrupt, naming the file.

    keras-tuner would stop with a bare "Expecting value: line 1 column 11" that names
    no file. Checked: the project's ``*.json`` (oracle, tuners, kerasdil's search
    file) and every ``trial_*/trial.json``.

    Raises:
        ValueError: a file is not valid JSON (the message names it and the way out).
    """
    from kerasdil._json import read

    paths = sorted(glob.glob(os.path.join(project_dir, "*.json")))
    paths += sorted(glob.glob(os.path.join(project_dir, "trial_*", "trial.json")))
    for path in paths:
        read(path, _AFRESH + " (its completed trials are then lost)")


def find_project(directory: str, project_name: Optional[str] = None) -> str:
    """The project folder of a search under ``directory`` (the folder itself, or its one project).

    Raises:
        FileNotFoundError: no search there.
        ValueError: several searches and no ``project_name`` to choose.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"search folder {directory!r} does not exist.")
    if project_name:
        path = os.path.join(directory, project_name)
        load_search_file(path)
        return path
    if os.path.isfile(os.path.join(directory, SEARCH_FILE)):
        return directory
    found = sorted(
        os.path.join(directory, d) for d in os.listdir(directory)
        if os.path.isfile(os.path.join(directory, d, SEARCH_FILE))
    )
    if not found:
        raise FileNotFoundError(f"{directory!r} holds no kerasdil search (no */{SEARCH_FILE}); run a search "
                                "(kerasdil.tune.search) there first.")
    if len(found) > 1:
        names = ", ".join(os.path.basename(p) for p in found)
        raise ValueError(f"{directory!r} holds several searches ({names}); pass project_name= to choose one.")
    return found[0]


def _load_data(data, limit, validation_size, batch_size, seed, augment, log):
    from kerasdil.data import load_mnist_arrays, mnist

    arrays = load_mnist_arrays(data)
    log(arrays.describe())
    n_train = arrays.num_train
    if validation_size is None:
        validation_size = 5000 if n_train >= 20000 else max(1, n_train // 5)
    train = mnist("train", source=arrays, batch_size=batch_size, validation_size=validation_size, limit=limit,
                  seed=seed, augment=augment)
    val_limit = None if limit is None else max(1, min(validation_size, limit // 4 or 1))
    val = mnist("validation", source=arrays, batch_size=batch_size, validation_size=validation_size, limit=val_limit)
    # The third value: how many images score each trial (what the report's sampling-noise floor needs).
    return train, val, validation_size if val_limit is None else min(validation_size, val_limit)


def _check_scenes(scenes, family, input_shape):
    """``search(scenes=...)`` checked by ``SceneConfig`` at the search's canvas, as JSON-ready values, or None."""
    if scenes is None:
        return None
    if family.task != "segmentation":
        raise ValueError(f"scenes= applies to segmenters (deeplab_aspp) only, not {family.name}.")
    from kerasdil.data.scenes import SceneConfig

    fields = [f for f in SceneConfig.__dataclass_fields__ if f != "canvas_size"]
    if not isinstance(scenes, dict) or set(scenes) - set(fields):
        raise ValueError(f"scenes= must be a dict of {', '.join(fields)} (the canvas is input_shape), got {scenes!r}.")
    pairs = {k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in scenes.items()}
    config = SceneConfig(canvas_size=tuple(input_shape[:2]), **pairs).as_dict()  # one sentence for a bad value
    return {k: config[k] for k in scenes} or None


def _load_scenes(info, input_shape, data, limit, validation_size, batch_size, seed, augment, log, scenes=None):
    """Train and validation MNIST-scenes pipelines at the search's input size, from the segmentation task
    (``scenes``: SceneConfig fields such as ``scale_range``)."""
    from kerasdil.tasks import get_task

    task = get_task(info.task)
    kwargs = {} if validation_size is None else {"validation_size": validation_size}
    kwargs.update({key: tuple(value) for key, value in (scenes or {}).items()})
    # num_test=1: the task also builds a test split, which the search never reads.
    train, val, _, text = task.datasets(info, batch_size=batch_size, source=data, augment=augment, limit=limit,
                                        seed=seed, num_test=1, canvas_size=tuple(input_shape[:2]), **kwargs)
    log(text.replace(" / 1 test scenes", " scenes") + " (the test split is not used)")
    if val is None:
        raise ValueError("the search needs validation scenes for its objective; give validation_size= of 1 or more.")
    return train, val


def _user_data(data, data_options, family, info, input_shape, seed):
    """The user's data for a search (``kerasdil.data.pipeline.resolve_data``), or None for MNIST sources."""
    from kerasdil.data.pipeline import resolve_data
    from kerasdil.data.sources import is_user_data

    options = dict(data_options or {})
    if is_user_data(data) and input_shape is not None:
        options.setdefault("image_size", tuple(input_shape)[:2])
        if len(tuple(input_shape)) == 3:
            options.setdefault("channels", tuple(input_shape)[2])
    plan = resolve_data(data, info=info, data_options=options, seed=seed, task=family.task)
    return plan if plan.is_user_data else None


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}= must be a positive int, got {value!r}.")


def _input_shape(model, info, family, input_shape):
    """The search's input shape: the zoo entry's, or another one a segmenter takes."""
    default = tuple(info.input_shape)
    if input_shape is None:
        return default
    shape = tuple(input_shape)
    if len(shape) == 2:
        shape = shape + default[2:]
    if len(shape) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape):
        raise ValueError(f"input_shape must be (height, width[, channels]) of positive ints, got {input_shape!r}.")
    if shape != default and family.task != "segmentation":
        raise ValueError(f"{model} is searched at its own input size {default[0]}x{default[1]} (MNIST images); "
                         "only segmenters take another input size.")
    if shape[2] != default[2]:
        raise ValueError(f"{model} takes {default[2]} input channel(s) (MNIST scenes), got {shape[2]}.")
    return shape


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
    _check_positive("max_trials", max_trials)
    _check_positive("epochs", epochs)
    _check_positive("batch_size", batch_size)
    if tuner not in TUNERS:
        raise ValueError(f"unknown tuner {tuner!r}; use one of {', '.join(TUNERS)}.")
    if role not in ("local", "chief", "worker"):
        raise ValueError(f"role must be 'local', 'chief' or 'worker', got {role!r}.")
    family = get_family(model)
    from kerasdil.zoo import model_info

    info = model_info(family.model_name)
    num_classes = int(info.num_classes)
    user_data = _user_data(data, data_options, family, info, input_shape, seed) if train_data is None else None
    if user_data is not None:
        num_classes, input_shape = user_data.spec.num_classes, tuple(user_data.spec.input_shape)
        log(user_data.spec.description)
    else:
        input_shape = _input_shape(model, info, family, input_shape)
    space = family.check_space(space, input_shape)
    scenes = _check_scenes(scenes, family, input_shape)
    constraints = constraints or Constraints()
    pruning = prune(family, space, constraints, input_shape=input_shape, num_classes=num_classes)
    log(pruning.summary())
    keys = [c.key for c in pruning.survivors]
    if not keys:
        raise ValueError(pruning.empty_message(constraints))
    hypermodel = ScheduleHyperModel(family, keys, input_shape=input_shape, num_classes=num_classes,
                                    learning_rate=learning_rate, learning_rate_range=learning_rate_range)
    if max_trials > len(keys) and tuner != "hyperband":
        log(f"note: only {len(keys)} candidates are searchable; the search stops after {len(keys)} trials.")

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
        if role == "local":
            from kerasdil.run import RunLock

            lock = RunLock(project_dir)  # the run engine's lock: one search at a time in a folder
            lock.acquire()
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
            from kerasdil.tune.distributed import serve_oracle

            kt_tuner.save()
            serve_oracle(kt_tuner.oracle, log=log)
        else:
            if user_data is not None:
                from kerasdil.tasks import get_task

                parts = user_data.pipelines(get_task(family.task), info, batch_size=batch_size, seed=seed, limit=limit,
                                            augment=user_data.augment(family.task, augment))
                train_ds, val_ds = parts.train, parts.validation
                if val_ds is None:
                    raise ValueError("the search needs validation images for its objective; give a validation split "
                                     "(--validation-split 0.2) or a validation/ folder.")
            elif train_data is None and family.task == "segmentation":
                train_ds, val_ds = _load_scenes(info, input_shape, data, limit, validation_size, batch_size, seed,
                                                augment, log, scenes)
            elif train_data is None:
                train_ds, val_ds, val_images = _load_data(data, limit, validation_size, batch_size, seed, augment, log)
                if role == "local":
                    record = load_search_file(project_dir)
                    if record.get("validation_images") != val_images:
                        record["validation_images"] = val_images
                        _write_json(search_path, record)
            else:
                train_ds, val_ds = train_data
            remaining = kt_tuner.remaining_trials if role == "local" else None
            if remaining is not None:
                log(f"{max_trials - remaining} of {max_trials} trials exist; searching {len(keys)} candidates "
                    f"with {tuner}")
            from kerasdil.data import repeat_epochs
            from kerasdil.run import finite_guard

            train_ds, steps = repeat_epochs(train_ds)  # one iterator per trial, not one per epoch
            # The run engine's guard: a trial whose loss turns NaN stops at once and fails, so no NaN score is kept.
            kt_tuner.search(train_ds, validation_data=val_ds, epochs=epochs, steps_per_epoch=steps, verbose=verbose,
                            shuffle=False,  # the pipeline shuffles; Keras would warn that it ignores shuffle=True
                            callbacks=[finite_guard(None)])

        trials = {tid: t.status for tid, t in getattr(kt_tuner.oracle, "trials", {}).items()}
        best = None
        if role != "worker":
            done = [t for t in kt_tuner.oracle.trials.values() if t.status == COMPLETED and t.score is not None]
            if done:
                top = max(done, key=lambda t: t.score)
                best = {"trial_id": top.trial_id, "candidate": top.hyperparameters.get("candidate"), "score": top.score,
                        "objective": family.objective}
    finally:
        if lock is not None:
            lock.release()
    return SearchResult(project_dir, pruning, role, trials, best)
