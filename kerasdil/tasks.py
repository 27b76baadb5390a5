"""Tasks: what a kind of model trains on, with which loss, and how it is scored.

``kerasdil.train`` and the CLI look up ``model_info(name).task`` and use the task
registered under that name: "classification" or "segmentation", both defined here.
"""

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
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_TASKS))}.")
    return _TASKS[name]


def task_of_model(model):
    """Guess the task of a loaded model from its output rank (2: classes, 4: pixels)."""
    rank = len(model.outputs[0].shape) if getattr(model, "outputs", None) else 2
    return get_task("segmentation" if rank == 4 else "classification")


def _write_json(path, data):
    from kerasdil._json import dumps  # NaN / Inf written as null: the file stays valid JSON

    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(dumps(data, indent=2))
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
        from kerasdil.data.checks import describe_limit

        sizes = {"train": arrays.num_train - val, "test": arrays.num_test}
        return train, validation, test, arrays.describe() + describe_limit(sizes, limit)

    def evaluate(self, model, dataset, out_dir=None, class_names=None, prefix=""):
        probs, labels = predict_dataset(model, dataset)
        labels = labels.astype(int)
        num_classes = probs.shape[-1]
        if labels.size and labels.max() >= num_classes:
            raise ValueError(
                f"model {model.name!r} outputs {num_classes} classes but the data's labels go up to "
                f"{labels.max()}; evaluate a model built for {labels.max() + 1} or more classes (num_classes)."
            )
        if not np.all(np.isfinite(probs)):
            from kerasdil.data.checks import example_noun

            raise ValueError(
                f"model {model.name!r} outputs NaN or infinite values on {int((~np.isfinite(probs)).any(-1).sum())} "
                f"of the test {example_noun(tuple(model.input_shape)[1:])}, so no accuracy can be computed; its weights are broken (a diverged training "
                "run): use the last good checkpoint."
            )
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
            # A class with no test image has no accuracy (None), not 0.
            "per_class_accuracy": {n: (float(a) if count else None)
                                   for n, a, count in zip(names, per_class, confusion.sum(1))},
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


class SegmentationTask(Task):
    """Semantic segmentation on MNIST scenes: per-pixel cross-entropy from logits,
    mIoU (background included and excluded), per-class IoU, pixel accuracy."""

    name = "segmentation"
    monitor = "val_mean_iou"
    num_classes = 11

    def loss(self, label_smoothing=0.0):
        from kerasdil.losses import sparse_crossentropy

        return sparse_crossentropy(label_smoothing, from_logits=True, ignore_class=-1)  # -1: an ignored pixel

    def metrics(self):
        from kerasdil.metrics import keras_metrics

        return keras_metrics(self.num_classes)

    def datasets(self, info, *, batch_size, source=None, augment=True, limit=None, seed=0, validation_size=5000,
                 num_train=None, num_test=None, canvas_size=None, jitter=False, **scene_kwargs):
        """(train, validation, test, description) MNIST-scenes pipelines sized for ``info``.

        The canvas is ``canvas_size`` or else ``info.input_shape`` (``kerasdil.train``
        and ``kerasdil.finetune`` pass the size the model is built for, see
        ``kerasdil.train.data_info_for``); other ``scene_kwargs`` (``digits_per_image``,
        ``overlap``, ``generators``, ...) go to :func:`kerasdil.data.mnist_scenes`.
        With ``augment`` the training split composes new scenes at every epoch
        (``mnist_scenes(new_scenes_every_epoch=True)``), the scene counterpart
        of image augmentation; validation and test scenes are fixed. ``limit`` caps the train,
        validation and test scenes; validation scenes number at most
        ``min(validation_size, 1000)``. ``num_train`` / ``num_test`` override the
        default 10,000 / 2,000 scenes. ``jitter`` (with ``augment``) adds
        :func:`kerasdil.data.scenes.jitter_scenes` to the training scenes.
        """
        from kerasdil.data import load_mnist_arrays
        from kerasdil.data.scenes import DEFAULT_NUM_SCENES, mnist_scenes

        arrays = load_mnist_arrays(source)
        canvas = tuple(canvas_size or info.input_shape[:2])
        num_train = num_train or DEFAULT_NUM_SCENES["train"]
        num_test = num_test or DEFAULT_NUM_SCENES["test"]
        if limit is not None:
            num_train, num_test = min(num_train, limit), min(num_test, limit)
        num_val = min(validation_size, DEFAULT_NUM_SCENES["validation"], limit or validation_size)
        common = dict(source=arrays, batch_size=batch_size, seed=seed, canvas_size=canvas, **scene_kwargs)
        if jitter and not augment:
            raise ValueError("scene jitter applies to scenes composed anew every epoch; turn augmentation on with it.")
        train = mnist_scenes("train", num_scenes=num_train, new_scenes_every_epoch=bool(augment), jitter=bool(jitter),
                             **common)
        validation = mnist_scenes("validation", num_scenes=num_val, **common) if num_val else None
        test = mnist_scenes("test", num_scenes=num_test, **common)
        digits = "the embedded MNIST sample" if arrays.is_sample else arrays.source
        look = {k: v for k, v in scene_kwargs.items() if k in ("digits_per_image", "scale_range")}
        look = "".join(f", {'digits' if k == 'digits_per_image' else 'scale'} {v[0]:g}-{v[1]:g}" for k, v in look.items())
        if scene_kwargs.get("unit_scale_share"):
            look += f" ({scene_kwargs['unit_scale_share']:.0%} of digits at scale 1)"
        if scene_kwargs.get("generators"):
            look += f", a mixture of the {', '.join(scene_kwargs['generators'])} generators"
        text = (f"data: MNIST scenes {canvas[0]}x{canvas[1]}{look}, {num_train:,} train"
                f"{' (new every epoch' + (', jittered)' if jitter else ')') if augment else ''} / {num_val:,} validation / "
                f"{num_test:,} test scenes from {digits}")
        return train, validation, test, text

    def evaluate(self, model, dataset, out_dir=None, class_names=None, max_overlays=6, prefix=""):
        """Scores of ``model`` on (image, mask) batches; ``overlays.png`` in ``out_dir``.

        Returns:
            dict with task, samples, loss, miou, miou_no_background,
            pixel_accuracy, per_class_iou, confusion_matrix (and overlays_png).
        """
        from kerasdil.data.scenes import SCENE_CLASS_NAMES
        from kerasdil.metrics import confusion_matrix, segmentation_scores

        confusion = None
        loss_sum, pixels, samples = 0.0, 0, 0
        shown = []
        expected = tuple(getattr(model, "input_shape", (None,) * 4)[1:3])
        for x, y in dataset:
            if None not in expected and tuple(x.shape[1:3]) != expected:
                raise ValueError(
                    f"images of {x.shape[1]}x{x.shape[2]} do not fit model {model.name!r}, built for "
                    f"{expected[0]}x{expected[1]}; evaluate on data of the model's input size."
                )
            logits = np.asarray(model(x, training=False), dtype=np.float64)
            y = np.asarray(y)
            if y.ndim == 4 and y.shape[-1] == 1:
                y = y[..., 0]
            num_classes = logits.shape[-1]
            if logits.shape[:3] != y.shape:
                raise ValueError(
                    f"model output {logits.shape[1:3]} and masks {y.shape[1:]} differ in size; "
                    "evaluate on images of the model's input size."
                )
            pred = logits.argmax(-1)
            valid = y >= 0  # pixels a mask marks as ignored (-1) are left out of every score
            cm = confusion_matrix(y[valid], pred[valid], num_classes)
            confusion = cm if confusion is None else confusion + cm
            shifted = logits - logits.max(-1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
            picked = np.take_along_axis(log_probs, np.maximum(y, 0)[..., None].astype(np.int64), -1)[..., 0]
            loss_sum += float(-picked[valid].sum())
            pixels += int(valid.sum())
            samples += len(y)
            if len(shown) < max_overlays:
                take = max_overlays - len(shown)
                shown.extend(zip(np.asarray(x)[:take], y[:take], pred[:take]))
        if confusion is None:
            raise ValueError("the evaluation data set is empty.")
        names = class_names or (list(SCENE_CLASS_NAMES) if confusion.shape[0] == 11 else None)
        result = {"task": self.name, "samples": samples, "loss": loss_sum / max(pixels, 1)}
        result.update(segmentation_scores(confusion, names))
        result["confusion_matrix"] = confusion.tolist()
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            imgs, masks, preds = (np.stack(a) for a in zip(*shown))
            from kerasdil.plots import plot_overlays

            result["overlays_png"] = plot_overlays(
                imgs, masks, preds, os.path.join(out_dir, f"{prefix}overlays.png"), num_classes=confusion.shape[0],
                title=f"{getattr(model, 'name', 'model')}: mIoU {result['miou']:.4f}",
            )
        return result


register_task(SegmentationTask())
