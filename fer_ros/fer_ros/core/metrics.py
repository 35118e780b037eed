"""Classification metrics and their text report, torch-free (numpy only).

One report format for every tool that scores predictions against labels
(``fer-ros evaluate``, ``fer-ros detect --labels``, ``fer-ros bag-eval``):
a dict with ``accuracy``, ``macro_f1``, ``per_class`` and ``confusion`` that
goes to JSON as is, and :func:`format_report` for the terminal.

The confusion matrix has one row per true class and one column per predicted
class, plus optional *extra* columns for outcomes that are not a class at all
(``fer-ros detect`` adds "(no face)"): such samples count in the row total, so
they lower recall and accuracy, but never a class's precision.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def confusion_matrix(true_idx: Sequence[int], pred_idx: Sequence[int], labels: Sequence[str],
                     extra_columns: Sequence[str] = ()) -> np.ndarray:
    """Counts[true, pred] for indices into ``labels`` (+ ``extra_columns`` after them)."""
    k, cols = len(labels), len(labels) + len(extra_columns)
    t = np.asarray(true_idx, np.int64).reshape(-1)
    p = np.asarray(pred_idx, np.int64).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"{t.size} true labels but {p.size} predictions")
    if t.size and (t.min() < 0 or t.max() >= k):
        raise ValueError(f"true label index out of range 0..{k - 1}")
    if p.size and (p.min() < 0 or p.max() >= cols):
        raise ValueError(f"predicted index out of range 0..{cols - 1}")
    counts = np.zeros((k, cols), np.int64)
    np.add.at(counts, (t, p), 1)
    return counts


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # 0 where the denominator is 0 (no samples / no predictions of a class), as sklearn does.
    return np.divide(num, den, out=np.zeros(num.shape, np.float64), where=den > 0)


def report_from_confusion(confusion: np.ndarray, labels: Sequence[str],
                          extra_columns: Sequence[str] = ()) -> dict:
    """accuracy, macro_f1, per-class precision/recall/f1/support and the matrix itself."""
    counts = np.asarray(confusion, np.int64)
    k = len(labels)
    if counts.shape != (k, k + len(extra_columns)):
        raise ValueError(f"confusion shape {counts.shape} does not fit {k} labels "
                         f"+ {len(extra_columns)} extra columns")
    tp = np.diag(counts[:, :k]).astype(np.float64)
    support = counts.sum(axis=1)
    predicted = counts[:, :k].sum(axis=0)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    total = int(support.sum())
    present = support > 0  # macro average over the classes that occur, as evaluate reports
    return {
        "samples": total,
        "correct": int(tp.sum()),
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]),
                   "f1": float(f1[i]), "support": int(support[i])}
            for i, name in enumerate(labels)},
        "labels": list(labels),
        "confusion_columns": list(labels) + list(extra_columns),
        "confusion": counts.tolist(),
    }


def classification_report(true_idx: Sequence[int], pred_idx: Sequence[int],
                          labels: Sequence[str], extra_columns: Sequence[str] = ()) -> dict:
    """Shortcut: :func:`confusion_matrix` then :func:`report_from_confusion`."""
    counts = confusion_matrix(true_idx, pred_idx, labels, extra_columns)
    return report_from_confusion(counts, labels, extra_columns)


def format_report(report: dict, title: str = "") -> str:
    """The per-class table and confusion matrix as fixed-width text."""
    labels = report["labels"]
    width = max(8, *(len(n) for n in report["confusion_columns"]))
    lines = [title] if title else []
    lines.append(f"accuracy {report['accuracy']:.4f} ({report['correct']}/{report['samples']})"
                 f"   macro-F1 {report['macro_f1']:.4f}")
    lines.append("")
    lines.append(f"{'class':<{width}} precision  recall      f1  support")
    for name in labels:
        row = report["per_class"][name]
        lines.append(f"{name:<{width}} {row['precision']:9.4f} {row['recall']:7.4f} "
                     f"{row['f1']:7.4f} {row['support']:8d}")
    lines.append("")
    lines.append("confusion (rows: true, columns: predicted)")
    lines.append(" " * width + "".join(f" {c:>{width}}" for c in report["confusion_columns"]))
    for name, row in zip(labels, report["confusion"]):
        lines.append(f"{name:<{width}}" + "".join(f" {v:>{width}d}" for v in row))
    return "\n".join(lines)
