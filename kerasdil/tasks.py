"""Tasks: what a kind of model trains on, with which loss, and how it is scored.

``kerasdil.train`` and the CLI look up ``model_info(name).task`` and use the task
registered under that name. Classification lives here; the segmentation task is
registered by ``kerasdil.zoo.segmentation``.
"""

import json
import os

import numpy as np

_TASKS = {}


class Task:
    """Base class. Subclasses set ``name`` and ``monitor`` and implement the methods."""

    name = None
    monitor = "val_loss"

    def loss(self, label_smoothing=0.0):
        """The training loss; ``label_smoothing`` > 0 trains on smoothed targets."""
        raise NotImplementedError

    def metrics(self):
        return []

    def datasets(self, info, *, batch_size, source=None, augment=True, limit=None, seed=0, validation_size=5000):
        """Return (train, validation, test) tf.data pipelines for zoo entry ``info``."""
        raise NotImplementedError

    def evaluate(self, model, dataset, out_dir=None, prefix=""):
        """Score ``model`` on ``dataset``; write plots into ``out_dir`` if given, their
        file names starting with ``prefix`` (``kerasdil evaluate`` uses "eval_", so a
        run folder keeps training's own plots)."""
        raise NotImplementedError


def register_task(task):
    """Make ``task`` (a ``Task`` instance) available under ``task.name``."""
    _TASKS[task.name] = task
    return task


def get_task(name):
    """The registered task called ``name``.

    Raises:
        ValueError: unknown task.
    """
    if name not in _TASKS:
        import kerasdil.zoo  # noqa: F401  (registers the tasks of every zoo family)
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_TASKS))}.")
    return _TASKS[name]


def task_of_model(model):
    """Guess the task of a loaded model from its output rank (2: classes, 4: pixels)."""
    rank = len(model.outputs[0].shape) if getattr(model, "outputs", None) else 2
    return get_task("segmentation" if rank == 4 else "classification")


def _write_json(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def predict_dataset(model, dataset):
    """Run ``model`` over ``(x, y)`` batches -> (predictions, labels) as numpy arrays."""
    preds, labels = [], []
    for x, y in dataset:
        preds.append(np.asarray(model(x, training=False)))
        labels.append(np.asarray(y))
    return np.concatenate(preds), np.concatenate(labels)


class ClassificationTask(Task):
    """Image classification with integer labels: sparse cross-entropy, accuracy."""

    name = "classification"
    monitor = "val_accuracy"

    def loss(self, label_smoothing=0.0):
        from kerasdil.losses import sparse_crossentropy

        return sparse_crossentropy(label_smoothing)

    def metrics(self):
        return ["accuracy"]

    def datasets(self, info, *, batch_size, source=None, augment=True, limit=None, seed=0, validation_size=5000):
        from kerasdil import data

        arrays = data.load_mnist_arrays(source)
        # A sample has too few images for a 5,000-image validation split.
        val = min(validation_size, arrays.num_train // 10)
        common = dict(source=arrays, batch_size=batch_size, validation_size=val, seed=seed)
        train = data.mnist("train", augment=augment, limit=limit, **common)
        validation = data.mnist("validation", **common) if val else None
        test = data.mnist("test", source=arrays, batch_size=batch_size, limit=limit)
        return train, validation, test, arrays.describe()

    def evaluate(self, model, dataset, out_dir=None, class_names=None, prefix=""):
        probs, labels = predict_dataset(model, dataset)
        labels = labels.astype(int)
        num_classes = probs.shape[-1]
        if probs.min() < 0 or not np.allclose(probs.sum(-1), 1, atol=1e-3):
            probs = _softmax(probs)  # the model returns logits
        pred = probs.argmax(-1)
        confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
        np.add.at(confusion, (labels, pred), 1)
        per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
        names = [str(c) for c in range(num_classes)]
        if class_names is not None:
            if len(class_names) != num_classes:
                raise ValueError(f"{len(class_names)} class names for a model of {num_classes} classes.")
            names = [str(n) for n in class_names]
        loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1))))
        result = {
            "task": self.name,
            "samples": int(len(labels)),
            "accuracy": float((pred == labels).mean()),
            "loss": loss,
            "errors": int((pred != labels).sum()),
            "per_class_accuracy": {n: float(a) for n, a in zip(names, per_class)},
            "confusion_matrix": confusion.tolist(),
        }
        if class_names is not None:
            result["class_names"] = names
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            from kerasdil.plots import plot_confusion

            result["confusion_png"] = plot_confusion(confusion, os.path.join(out_dir, f"{prefix}confusion.png"),
                                                       class_names)
        return result


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


register_task(ClassificationTask())
