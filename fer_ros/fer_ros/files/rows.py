"""One output row per detected face, written as CSV (streamed) and JSON (at the end)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

from fer_ros.core.types import FaceEmotion

FIXED_COLUMNS = ("file", "frame", "x", "y", "w", "h", "detector_score", "track_id",
                 "label", "confidence")


def face_row(file: str, frame: int, face: FaceEmotion, labels: Sequence[str]) -> dict:
    """A JSON-ready row. Boxes in source pixels (1 decimal), scores by label name."""
    b = face.box
    return {
        "file": file, "frame": int(frame),
        "box": [round(float(v), 1) for v in (b.x, b.y, b.w, b.h)],
        "detector_score": round(float(face.detector_score), 4),
        "track_id": int(face.track_id),
        "label": face.label,
        "confidence": round(float(face.confidence), 4),
        "scores": {name: round(float(p), 4) for name, p in zip(labels, face.scores)},
    }


def csv_header(labels: Sequence[str]) -> list[str]:
    """The fixed columns, then one ``score_<label>`` per class."""
    return [*FIXED_COLUMNS, *(f"score_{n}" for n in labels)]


def csv_cells(row: dict, labels: Sequence[str]) -> list:
    """One :func:`face_row` as CSV cells in the order of :func:`csv_header`."""
    x, y, w, h = row["box"]
    return [row["file"], row["frame"], x, y, w, h, row["detector_score"], row["track_id"],
            row["label"], row["confidence"], *(row["scores"][n] for n in labels)]


class CsvRows:
    """Streams rows to a CSV file: the fixed columns, then one ``score_<label>`` per class."""

    def __init__(self, path: Path, labels: Sequence[str]):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "w", newline="", encoding="utf-8")
        self._labels = list(labels)
        self._writer = csv.writer(self._file)
        self._writer.writerow(csv_header(self._labels))

    def write(self, row: dict) -> None:
        self._writer.writerow(csv_cells(row, self._labels))

    def close(self) -> None:
        self._file.close()


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
