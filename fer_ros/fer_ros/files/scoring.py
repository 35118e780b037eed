"""Scoring a labelled photo collection end to end (``fer-ros detect --labels CSV``).

The CSV has a header with at least the columns ``file`` and ``label``; ``file`` is
absolute or relative to the CSV's own folder. For each labelled photo the
*largest* detected face is the prediction; a photo with no face counts as wrong
(column "(no face)" of the confusion matrix). Label names go through the one
synonym table (fer_ros.core.labels); a name with no match is reported and its
photos are left out, never guessed.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from fer_ros.core.errors import InputError
from fer_ros.core.labels import LabelMatcher
from fer_ros.core.metrics import classification_report, format_report
from fer_ros.core.types import FrameResult

NO_FACE = "(no face)"


@dataclass(frozen=True)
class LabelRow:
    path: Path      # resolved
    label: str      # as written in the CSV
    line: int


def read_label_csv(csv_path: Path) -> list[LabelRow]:
    """Rows of a ``file,label`` CSV; InputError naming the file for a bad layout."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = {c.strip().lower(): c for c in (reader.fieldnames or []) if c}
            if "file" not in columns or "label" not in columns:
                raise InputError(f"{csv_path}: needs a header row with columns 'file,label' "
                                 f"(found {reader.fieldnames}); one photo per line")
            rows = [(line, r.get(columns["file"]) or "", r.get(columns["label"]) or "")
                    for line, r in enumerate(reader, start=2)]
    except OSError as exc:
        raise InputError(f"{csv_path}: cannot read the labels CSV ({exc.strerror or exc})") from exc
    out, seen = [], {}
    for line, file, label in rows:
        if not file.strip():
            raise InputError(f"{csv_path}:{line}: empty 'file' value")
        path = Path(file.strip())
        path = (path if path.is_absolute() else csv_path.parent / path).resolve()
        if path in seen:
            raise InputError(f"{csv_path}:{line}: {file!r} is already labelled on line "
                             f"{seen[path]}; keep one label per photo")
        seen[path] = line
        out.append(LabelRow(path, label.strip(), line))
    return out


@dataclass
class CollectionScorer:
    """Collects per-photo predictions, then :meth:`report` scores them."""

    rows: Sequence[LabelRow]
    model_labels: Sequence[str]
    _truth: dict = field(init=False)
    _predicted: dict = field(init=False, default_factory=dict)
    _unreadable: dict = field(init=False, default_factory=dict)  # resolved -> as given

    def __post_init__(self) -> None:
        self.matcher = LabelMatcher(self.model_labels)
        self._truth = {r.path: self.matcher.index(r.label) for r in self.rows}

    def wants(self, path: Path) -> bool:
        return path.resolve() in self._truth

    def add(self, path: Path, result: FrameResult) -> None:
        """Record the prediction for one labelled photo (largest face, or no face)."""
        key = path.resolve()
        if key not in self._truth:
            return
        if not result.faces:
            self._predicted[key] = len(self.model_labels)  # the NO_FACE column
            return
        largest = max(result.faces, key=lambda f: f.box.area)
        self._predicted[key] = list(result.labels).index(largest.label)

    def add_unreadable(self, path: Path) -> None:
        if path.resolve() in self._truth:
            self._unreadable[path.resolve()] = str(path)

    def report(self) -> dict:
        scored = [(t, self._predicted[p]) for p, t in self._truth.items()
                  if t is not None and p in self._predicted]
        true = [t for t, _ in scored]
        pred = [p for _, p in scored]
        with_face = [(t, p) for t, p in scored if p < len(self.model_labels)]
        report = classification_report(true, pred, self.model_labels, (NO_FACE,))
        face_only = classification_report([t for t, _ in with_face], [p for _, p in with_face],
                                           self.model_labels)
        n = len(scored)
        report.update({
            "photos_labelled": len(self.rows),
            "photos_scored": n,
            "photos_with_face": len(with_face),
            "face_found_rate": len(with_face) / n if n else 0.0,
            "accuracy_all_photos": report["accuracy"],
            "accuracy_photos_with_face": face_only["accuracy"],
            "with_face": face_only,
            "unmatched_labels": dict(self.matcher.unmatched),
            "unreadable": sorted(self._unreadable.values()),
            "not_in_inputs": sorted(str(p) for p in self._truth
                                    if p not in self._predicted and p not in self._unreadable),
        })
        return report


def format_collection_report(report: dict) -> str:
    lines = [f"labelled photos: {report['photos_labelled']}, scored: {report['photos_scored']}",
             f"face found: {report['photos_with_face']}/{report['photos_scored']} "
             f"({report['face_found_rate']:.1%})",
             f"accuracy over all photos (no face = wrong): {report['accuracy_all_photos']:.4f}",
             f"accuracy over photos with a face:          "
             f"{report['accuracy_photos_with_face']:.4f}"]
    if report["unmatched_labels"]:
        listed = ", ".join(f"{k!r} x{v}" for k, v in sorted(report["unmatched_labels"].items()))
        lines.append(f"NOT SCORED, label matches no model class {report['labels']}: {listed} "
                     "(rename, or add a synonym in fer_ros/core/labels.py)")
    if report["unreadable"]:
        lines.append(f"NOT SCORED, unreadable: {len(report['unreadable'])} photo(s)")
    if report["not_in_inputs"]:
        lines.append(f"NOT SCORED, labelled but not among the inputs: "
                     f"{len(report['not_in_inputs'])} (first: {report['not_in_inputs'][0]})")
    lines.append("")
    lines.append(format_report(report, "all labelled photos"))
    return "\n".join(lines)
