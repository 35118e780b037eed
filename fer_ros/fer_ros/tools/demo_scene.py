"""The demo's camera scene: three FER2013 faces drifting and changing expression.

Used by :mod:`fer_ros.tools.demo` (arguments, main) and :mod:`fer_ros.tools.demo_client`
(the ROS side), so neither imports the other's module.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[3]
FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def shared_dir() -> Path:
    return Path(os.environ.get("FER_ROS_SHARED", REPO.parent / "shared"))


def read_faces(per_label: int = 3) -> list[tuple[np.ndarray, str]]:
    """``per_label`` PublicTest faces of each FER2013 label, labels interleaved."""
    csv = shared_dir() / "datasets" / "fer2013" / "fer2013.csv.gz"
    if not csv.is_file():
        raise SystemExit(f"[demo] error: {csv} not found; set FER_ROS_SHARED to the shared "
                         "data folder (it holds datasets/fer2013/fer2013.csv.gz)")
    by_label: dict[int, list[np.ndarray]] = {k: [] for k in range(len(FER2013_LABELS))}
    with gzip.open(csv, "rt") as handle:
        next(handle)
        for line in handle:
            if not line.rstrip().endswith(",PublicTest"):
                continue
            emotion, pixels, _ = line.split(",")
            bucket = by_label[int(emotion)]
            if len(bucket) < per_label:
                bucket.append(np.array(pixels.split(), np.uint8).reshape(48, 48))
            if all(len(b) >= per_label for b in by_label.values()):
                break
    return [(by_label[k][i], FER2013_LABELS[k])
            for i in range(per_label) for k in by_label if i < len(by_label[k])]


@dataclass
class Person:
    """One face slot: where it drifts and which faces it shows in turn."""

    anchor: tuple[int, int]
    faces: list[tuple[np.ndarray, str]]


class Stream:
    """Frames of three people drifting slowly and changing expression every ``hold`` frames."""

    SIZE = (640, 480)
    FACE_PX = 150

    def __init__(self, faces: list[tuple[np.ndarray, str]], hold: int = 20) -> None:
        anchors = [(40, 60), (245, 270), (450, 70)]
        self.people = [Person(a, faces[i::3]) for i, a in enumerate(anchors)]
        self.hold = hold
        ys, xs = np.mgrid[0:self.SIZE[1], 0:self.SIZE[0]].astype(np.float32)
        self.background = np.dstack([90 + 0.1 * xs, 110 + 0.05 * ys, 140 - 0.05 * xs]) \
            .clip(0, 255).astype(np.uint8)

    def frame(self, index: int) -> tuple[np.ndarray, list[tuple[tuple[int, int, int, int], str]]]:
        """(BGR frame, [(box x, y, w, h), true label] per person)."""
        image = self.background.copy()
        truth = []
        side = self.FACE_PX
        for p, person in enumerate(self.people):
            face, label = person.faces[(index // self.hold) % len(person.faces)]
            dx = int(20 * np.sin(index / 15.0 + p))
            dy = int(10 * np.cos(index / 20.0 + p))
            x, y = person.anchor[0] + dx, person.anchor[1] + dy
            image[y:y + side, x:x + side] = cv2.cvtColor(
                cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
            truth.append(((x, y, side, side), label))
        return image, truth


def true_label_at(truth, roi) -> str:
    """The true label of the person whose box holds the centre of ``roi``."""
    cx, cy = roi.x_offset + roi.width / 2, roi.y_offset + roi.height / 2
    for (x, y, w, h), label in truth:
        if x <= cx <= x + w and y <= cy <= y + h:
            return label
    return "?"
