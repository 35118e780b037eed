"""The demo's camera scene: three FER2013 faces drifting and changing expression.

Used by :mod:`fer_ros.tools.demo` (arguments, main) and :mod:`fer_ros.tools.demo_client`
(the ROS side), so neither imports the other's module.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.fer2013 import FER2013_LABELS, FER2013_RELATIVE, DatasetError, split_faces
from fer_ros.core.paths import shared_dir

REPO = Path(__file__).resolve().parents[3]


def read_faces(per_label: int = 3) -> list[tuple[np.ndarray, str]]:
    """``per_label`` PublicTest faces of each FER2013 label, labels interleaved."""
    csv = shared_dir() / FER2013_RELATIVE
    by_label: dict[int, list[np.ndarray]] = {k: [] for k in range(len(FER2013_LABELS))}
    try:
        for face, emotion in split_faces(csv, "PublicTest"):
            if len(by_label[emotion]) < per_label:
                by_label[emotion].append(face)
            if all(len(b) >= per_label for b in by_label.values()):
                break
    except DatasetError as exc:
        raise SystemExit(f"[demo] error: {exc}") from None
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
