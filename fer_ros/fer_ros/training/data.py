"""Datasets as arrays of uint8 face crops and their targets.

Every loader returns a :class:`FaceSet`; :func:`to_tensor_batch` turns one into
network inputs with the runtime's own :func:`fer_ros.core.preprocess.face_to_tensor`.
Malformed input raises ``DatasetError`` naming the file and line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_ros.core.fer2013 import (FER2013_LABELS, FER2013_SPLITS, DatasetError,  # noqa: F401
                                  parse_pixels, read_fer2013_rows)
from fer_ros.core.preprocess import InputSpec, face_to_tensor


@dataclass
class FaceSet:
    """Face crops (list of uint8 HxW or HxWx3 arrays) and their targets.

    ``targets`` is int64 (N,) class indices, or float32 (N, K) class
    distributions for soft-label training (FER+ probability / crossentropy).
    ``groups`` holds a subject id per image where one is known (CK+).
    """

    images: list
    targets: np.ndarray
    labels: tuple
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    def hard_targets(self) -> np.ndarray:
        t = self.targets
        return t.argmax(1) if t.ndim == 2 else t

    def subset(self, index) -> "FaceSet":
        index = np.asarray(index, dtype=np.int64)
        return FaceSet([self.images[i] for i in index], self.targets[index], self.labels,
                       None if self.groups is None else self.groups[index])


def load_fer2013(path: str | Path, *splits: str) -> list[FaceSet]:
    """One FaceSet per requested ``Usage`` value, read in a single pass over the csv."""
    for split in splits:
        if split not in FER2013_SPLITS:
            raise DatasetError(f"unknown FER2013 split {split!r}; valid: {FER2013_SPLITS}")
    images = {s: [] for s in splits}
    targets = {s: [] for s in splits}
    for _, emotion, pixels, usage in read_fer2013_rows(path, lambda _, u: u in images):
        if usage in images:
            images[usage].append(pixels)
            targets[usage].append(emotion)
    for split in splits:
        if not images[split]:
            raise DatasetError(f"{path}: no rows with Usage {split!r}")
    return [FaceSet(images[s], np.asarray(targets[s], np.int64), FER2013_LABELS) for s in splits]


def to_tensor_batch(faces: FaceSet, spec: InputSpec) -> np.ndarray:
    """All crops through the runtime preprocessing -> float32 NxCxHxW."""
    out = np.empty((len(faces), spec.channels, spec.size, spec.size), np.float32)
    for i, image in enumerate(faces.images):
        out[i] = face_to_tensor(image, spec)
    return out
