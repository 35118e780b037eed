"""Datasets as arrays of uint8 face crops and their targets.

Every loader returns a :class:`FaceSet`; :func:`to_tensor_batch` turns one into
network inputs with the runtime's own :func:`fer_ros.core.preprocess.face_to_tensor`.
Malformed input raises ``DatasetError`` naming the file and line.
"""
from __future__ import annotations

import csv
import gzip
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_ros.core.preprocess import InputSpec, face_to_tensor

FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER2013_SPLITS = ("Training", "PublicTest", "PrivateTest")


class DatasetError(ValueError):
    """A dataset file or folder is malformed; the message names file and line."""


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


def _open_text(path: Path):
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def parse_pixels(text: str, where: str, side: int = 48) -> np.ndarray:
    # np.fromstring is ~6x faster than split(); with warnings as errors it also
    # rejects anything that is not a space-separated integer list.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            pixels = np.fromstring(text, dtype=np.int32, sep=" ")
        except (ValueError, DeprecationWarning):
            raise DatasetError(f"{where}: pixel values must be space-separated integers") \
                from None
    if len(pixels) != side * side:
        raise DatasetError(f"{where}: expected {side * side} pixel values, got {len(pixels)}")
    if pixels.min() < 0 or pixels.max() > 255:
        raise DatasetError(f"{where}: pixel values must be in 0..255")
    return pixels.astype(np.uint8).reshape(side, side)


def read_fer2013_rows(path: str | Path, parse=None):
    """Yield (line_number, emotion:int, pixels, usage) for every row.

    ``parse(row_index, usage) -> bool`` selects the rows whose pixels are decoded
    (the slow part); the others yield ``pixels=None``. Default: all rows.
    """
    path = Path(path)
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["emotion", "pixels", "Usage"]:
            raise DatasetError(f"{path}:1: expected header 'emotion,pixels,Usage', got {header}")
        for index, row in enumerate(reader):
            line = index + 2
            where = f"{path}:{line}"
            if len(row) != 3:
                raise DatasetError(f"{where}: expected 3 columns, got {len(row)}")
            try:
                emotion = int(row[0])
            except ValueError:
                raise DatasetError(f"{where}: emotion {row[0]!r} is not an integer") from None
            if not 0 <= emotion < len(FER2013_LABELS):
                raise DatasetError(f"{where}: unknown emotion label {emotion}; "
                                   f"valid: 0..{len(FER2013_LABELS) - 1}")
            if row[2] not in FER2013_SPLITS:
                raise DatasetError(f"{where}: unknown Usage {row[2]!r}; valid: {FER2013_SPLITS}")
            wanted = parse is None or parse(index, row[2])
            yield line, emotion, parse_pixels(row[1], where) if wanted else None, row[2]


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
