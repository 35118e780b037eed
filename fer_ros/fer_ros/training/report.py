"""Evaluation reports: metrics JSON, per-class table, confusion-matrix and curve PNGs.

One report layout for ``fer-ros train`` (best.pt on the validation split, written
to ``RUN_DIR/report/``) and ``fer-ros evaluate --out DIR``:

    metrics.json              accuracy, macro_f1, per_class, confusion, labels, n, ...
    report.txt                per-class precision/recall/F1/support table + confusion
    confusion.png             counts (rows: true class, columns: predicted)
    confusion_normalised.png  each row divided by its support (= recall on the diagonal)
    curves.png                loss and accuracy per epoch from log.csv (training runs)

The numbers come from :mod:`fer_ros.core.metrics`, the one metrics implementation
every fer_ros tool uses.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from fer_ros.core.metrics import classification_report, format_report


def metrics_report(probs: np.ndarray, true_idx: np.ndarray, labels: Sequence[str],
                   pred_labels: Sequence[str] | None = None, pred_to_true=None) -> dict:
    """accuracy, macro_f1, per_class, confusion for (N, K) probabilities.

    ``pred_to_true`` maps a model output index to a dataset label index (or -1 for a
    model class the dataset does not have); such predictions land in extra
    confusion columns named after the model class, so they count as errors.
    """
    pred = np.asarray(probs).argmax(1)
    extra: list[str] = []
    if pred_to_true is not None:
        unmapped = [i for i, t in enumerate(pred_to_true) if t < 0]
        extra = [str(pred_labels[i]) for i in unmapped]
        column = {i: len(labels) + n for n, i in enumerate(unmapped)}
        pred = np.array([pred_to_true[p] if pred_to_true[p] >= 0 else column[p] for p in pred],
                        np.int64)
    report = classification_report(true_idx, pred, labels, extra)
    report["n"] = int(len(true_idx))
    return report


def save_json(path: Path, values: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(values, indent=2) + "\n")
    os.replace(tmp, path)


def plot_confusion(report: dict, path: Path, normalise: bool, title: str = "") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(report["confusion"], np.float64)
    rows, cols = report["labels"], report["confusion_columns"]
    values = counts / np.maximum(counts.sum(1, keepdims=True), 1) if normalise else counts
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(cols), 1.0 + 0.7 * len(rows)))
    ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalise else max(values.max(), 1))
    for (i, j), v in np.ndenumerate(values):
        text = f"{v:.2f}" if normalise else f"{int(v)}"
        dark = v > (0.5 if normalise else values.max() / 2)
        ax.text(j, i, text, ha="center", va="center", fontsize=8,
                color="white" if dark else "black")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    kind = "row-normalised" if normalise else "counts"
    ax.set_title(f"{title} ({kind})" if title else kind, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_log(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        # columns added in later versions are empty in older runs' rows
        return [{k: float(v) for k, v in row.items() if v not in ("", None)}
                for row in csv.DictReader(handle)]


def plot_curves(log_csv: Path, path: Path) -> None:
    """Train/val loss and accuracy per epoch from a run's log.csv."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = read_log(log_csv)
    epochs = [r["epoch"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, name in ((left, "loss", "loss"), (right, "acc", "accuracy")):
        ax.plot(epochs, [r[f"train_{key}"] for r in rows], "o-", label="train")
        ax.plot(epochs, [r[f"val_{key}"] for r in rows], "o-", label="validation")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out_dir: str | Path, report: dict, title: str = "",
                 log_csv: Path | None = None) -> Path:
    """Every report file into ``out_dir``; returns the metrics.json path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_json(out / "metrics.json", report)
    (out / "report.txt").write_text(format_report(report, title) + "\n")
    plot_confusion(report, out / "confusion.png", normalise=False, title=title)
    plot_confusion(report, out / "confusion_normalised.png", normalise=True, title=title)
    if log_csv is not None and Path(log_csv).is_file():
        plot_curves(Path(log_csv), out / "curves.png")
    return out / "metrics.json"


def report_checkpoint_on_val(checkpoint: Path, x_val, y_val, labels, cfg, device) -> Path:
    """The end-of-training report: best.pt on the validation tensors -> RUN_DIR/report/."""
    from fer_ros.training.checkpoint import load_checkpoint
    from fer_ros.training.datasets import val_split_name
    from fer_ros.training.engine import predict
    from fer_ros.training.models import model_from_checkpoint

    state = load_checkpoint(checkpoint)
    model = model_from_checkpoint(state).to(device)
    probs = predict(model, x_val, device, tta_flip=cfg.tta_flip, amp=cfg.amp).numpy()
    hard = (y_val.argmax(1) if y_val.ndim == 2 else y_val).numpy()
    report = metrics_report(probs, hard, labels)
    report.update(model=str(checkpoint), dataset=cfg.dataset, split=val_split_name(cfg),
                  epoch=int(state["epoch"]) + 1, tta="flip" if cfg.tta_flip else "none")
    title = f"{cfg.dataset} {report['split']}, epoch {report['epoch']}"
    return write_report(Path(checkpoint).parent / "report", report, title,
                        log_csv=Path(checkpoint).parent / "log.csv")
