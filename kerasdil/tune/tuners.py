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
# The implementation lives in private modules beside this one, one idea each
# (oracles and tuners, the search driver, its files, its data); this module is
# the public face and re-exports their names.
from kerasdil.tune._oracles import (  # noqa: F401
    COMPLETED,
    IDLE,
    OBJECTIVE,
    RUNNING,
    RUNS_FILE,
    STOPPED,
    TUNERS,
    ResumableOracleMixin,
    ScheduleHyperbandTuner,
    ScheduleTuner,
    make_oracle,
    make_tuner,
    trial_name,
)
from kerasdil.tune._search import SearchResult, _settings, search, zoo_default  # noqa: F401
from kerasdil.tune._search_data import (  # noqa: F401
    _check_positive,
    _check_scenes,
    _input_shape,
    _load_data,
    _load_scenes,
    _user_data,
)
from kerasdil.tune._search_files import (  # noqa: F401
    SEARCH_FILE,
    _write_json,
    check_project_files,
    find_project,
    load_search_file,
)
