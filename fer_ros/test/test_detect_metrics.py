"""Torch-free metrics (fer_ros.core.metrics) shared by detect --labels, evaluate and bag-eval."""
import numpy as np
import pytest

from fer_ros.core.metrics import classification_report, confusion_matrix, format_report

LABELS = ("angry", "happy", "sad")


def test_report_matches_hand_counts():
    true = [0, 0, 1, 1, 1, 2]
    pred = [0, 1, 1, 1, 3, 2]  # 3 = the extra "(no face)" column
    rep = classification_report(true, pred, LABELS, extra_columns=("(no face)",))
    assert rep["confusion"] == [[1, 1, 0, 0], [0, 2, 0, 1], [0, 0, 1, 0]]
    assert rep["accuracy"] == pytest.approx(4 / 6)
    happy = rep["per_class"]["happy"]
    # the no-face sample lowers happy's recall but no class's precision
    assert happy["recall"] == pytest.approx(2 / 3) and happy["precision"] == pytest.approx(2 / 3)
    assert rep["per_class"]["angry"]["precision"] == pytest.approx(1.0)
    f1 = [2 * 1 * .5 / 1.5, 2 * (2 / 3) * (2 / 3) / (4 / 3), 1.0]
    assert rep["macro_f1"] == pytest.approx(np.mean(f1))
    text = format_report(rep)
    assert "(no face)" in text and "accuracy 0.6667 (4/6)" in text


def test_class_without_samples_is_left_out_of_macro_f1():
    rep = classification_report([0, 1], [0, 1], LABELS)
    assert rep["macro_f1"] == pytest.approx(1.0)
    assert rep["per_class"]["sad"]["support"] == 0


def test_out_of_range_indices_are_refused():
    with pytest.raises(ValueError, match="out of range"):
        confusion_matrix([0, 5], [0, 1], LABELS)
    with pytest.raises(ValueError, match="predictions"):
        confusion_matrix([0, 1], [0], LABELS)
