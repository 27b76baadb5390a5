"""Tests for kerasdil.metrics: confusion matrix, IoU, mIoU, pixel accuracy."""

import math

import numpy as np
import pytest

from kerasdil.metrics import (
    check_scale_buckets,
    confusion_matrix,
    keras_metrics,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
    scale_bucket_scores,
    segmentation_scores,
)


def test_confusion_matrix_counts_pixels():
    labels = np.array([[0, 0, 1], [1, 2, 2]])
    pred = np.array([[0, 1, 1], [1, 2, 0]])
    cm = confusion_matrix(labels, pred, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_iou_mean_iou_and_pixel_accuracy_by_hand():
    cm = np.array([[8, 2], [1, 4]])
    # class 0: 8 / (8 + 2 + 1); class 1: 4 / (4 + 1 + 2)
    np.testing.assert_allclose(per_class_iou(cm), [8 / 11, 4 / 7])
    assert mean_iou(cm) == pytest.approx((8 / 11 + 4 / 7) / 2)
    assert mean_iou(cm, include_background=False) == pytest.approx(4 / 7)
    assert pixel_accuracy(cm) == pytest.approx(12 / 15)


def test_absent_class_has_no_iou_and_is_left_out_of_the_mean():
    cm = confusion_matrix([0, 0, 1], [0, 0, 1], 4)
    iou = per_class_iou(cm)
    assert iou[:2].tolist() == [1.0, 1.0] and np.isnan(iou[2:]).all()
    scores = segmentation_scores(cm)
    assert scores["miou"] == 1.0 and scores["miou_no_background"] == 1.0
    assert scores["per_class_iou"]["3"] is None


def test_background_included_and_excluded_both_reported():
    labels = np.array([0] * 90 + [1] * 10)
    pred = np.array([0] * 90 + [1] * 5 + [0] * 5)
    scores = segmentation_scores(confusion_matrix(labels, pred, 2), ["background", "digit"])
    assert scores["per_class_iou"]["digit"] == pytest.approx(0.5)
    assert scores["miou_no_background"] == pytest.approx(0.5)
    assert scores["miou"] == pytest.approx((90 / 95 + 0.5) / 2)
    assert scores["pixel_accuracy"] == pytest.approx(0.95)


def test_labels_outside_range_are_clear_error():
    with pytest.raises(ValueError, match=r"labels hold label 5, outside \[0, 3\)"):
        confusion_matrix([0, 5], [0, 1], 3)
    with pytest.raises(ValueError, match="predictions hold label -1"):
        confusion_matrix([0, 1], [0, -1], 3)


def test_shape_mismatch_is_clear_error():
    with pytest.raises(ValueError, match="different shapes"):
        confusion_matrix(np.zeros((2, 4, 4), int), np.zeros((2, 4, 5), int), 3)


def test_float_labels_are_refused():
    with pytest.raises(ValueError, match="integer class ids"):
        confusion_matrix(np.zeros(3), np.zeros(3, int), 2)


def test_keras_mean_iou_on_logits_agrees_with_numpy():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=(2, 6, 7))
    logits = rng.normal(size=(2, 6, 7, 4)).astype("float32")
    miou_metric, accuracy_metric = keras_metrics(4)
    miou_metric.update_state(labels, logits)
    accuracy_metric.update_state(labels, logits)
    cm = confusion_matrix(labels, logits.argmax(-1), 4)
    assert float(miou_metric.result()) == pytest.approx(mean_iou(cm), abs=1e-6)
    assert float(accuracy_metric.result()) == pytest.approx(pixel_accuracy(cm), abs=1e-6)
    assert not math.isnan(float(miou_metric.result()))


def test_scale_buckets_score_only_the_pixels_near_their_digits():
    # One scene, two digit boxes: a small digit (scale 0.6) predicted right, a large one (1.8) wrong.
    masks = np.zeros((1, 6, 10), np.int64)
    scale_map = np.full((1, 6, 10), np.nan)
    masks[0, 1:3, 1:3] = 4
    scale_map[0, 0:4, 0:4] = 0.6
    masks[0, 1:5, 5:9] = 7
    scale_map[0, 0:6, 5:10] = 1.8
    pred = masks.copy()
    pred[0, 1:5, 5:9] = 2  # the large digit gets the wrong class
    pred[0, 5, 0] = 3  # outside every box: counts in no bucket
    rows = scale_bucket_scores(masks, pred, scale_map, (0.5, 1.0, 2.0), 11,
                               digit_scales=np.array([[0.6, 1.8, np.nan]]))
    assert [(r["low"], r["high"], r["digits"]) for r in rows] == [(0.5, 1.0, 1), (1.0, 2.0, 1)]
    assert rows[0]["pixels"] == 16 and rows[1]["pixels"] == 30
    assert rows[0]["miou"] == 1.0 and rows[0]["digit_pixel_accuracy"] == 1.0
    assert rows[1]["digit_pixel_accuracy"] == 0.0
    assert rows[1]["miou"] == pytest.approx(1 / 3)  # background right, digits 7 and 2 IoU 0


def test_scale_bucket_upper_edge_belongs_to_the_last_bucket():
    masks = np.ones((1, 1, 2), np.int64)
    rows = scale_bucket_scores(masks, masks, np.array([[[1.0, 2.0]]]), (0.5, 1.0, 2.0), 2)
    assert [r["pixels"] for r in rows] == [0, 2]
    assert math.isnan(rows[0]["miou"]) and math.isnan(rows[0]["digit_pixel_accuracy"])


@pytest.mark.parametrize("edges", [(1.0,), (1.0, 0.5), (0, 1), ("a", 1), ()])
def test_bad_scale_buckets_are_one_sentence(edges):
    with pytest.raises(ValueError, match="scale buckets must be"):
        check_scale_buckets(edges)
