"""FER2013 ``fer2013.csv(.gz)``: its label list and the one reader every tool uses.

Training (:mod:`fer_ros.training.data`), export and quantize, the benchmarks' scenes, the
sample bag and the demo all read faces through :func:`read_fer2013_rows` or
:func:`split_faces`. Numpy only (no torch). Malformed input raises :class:`DatasetError`
naming the file and line.
"""
from __future__ import annotations

import csv
import gzip
import io
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from fer_ros.core.errors import InputError

FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER2013_SPLITS = ("Training", "PublicTest", "PrivateTest")
#: where the csv lies below the shared data folder (:func:`fer_ros.core.paths.shared_dir`)
FER2013_RELATIVE = Path("datasets/fer2013/fer2013.csv.gz")
HEADER = ["emotion", "pixels", "Usage"]


class DatasetError(InputError):
    """A dataset file or folder is malformed or missing; the message names file and line."""


def open_text(path: Path):
    """A text handle on ``path`` (gzip when it ends in .gz); DatasetError when missing."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file; pass the right path, or set FER_ROS_SHARED "
                           "to the shared data folder (datasets/ lies below it)")
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


def _check_header(path: Path, header) -> None:
    if header is None or [h.strip() for h in header[:3]] != HEADER:
        raise DatasetError(f"{path}:1: expected header 'emotion,pixels,Usage', got {header}")


def _parse_row(row: list[str], where: str) -> int:
    """The row's emotion index after checking its columns, label and Usage."""
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
    return emotion


def read_fer2013_rows(path: str | Path, parse=None):
    """Yield (line_number, emotion:int, pixels, usage) for every row.

    ``parse(row_index, usage) -> bool`` selects the rows whose pixels are decoded
    (the slow part); the others yield ``pixels=None``. Default: all rows.
    """
    path = Path(path)
    with open_text(path) as handle:
        reader = csv.reader(handle)
        _check_header(path, next(reader, None))
        for index, row in enumerate(reader):
            line = index + 2
            where = f"{path}:{line}"
            emotion = _parse_row(row, where)
            wanted = parse is None or parse(index, row[2])
            yield line, emotion, parse_pixels(row[1], where) if wanted else None, row[2]


def split_faces(path: str | Path, split: str) -> Iterator[tuple[np.ndarray, int]]:
    """(48x48 uint8 face, emotion index) for each row of one ``Usage`` split, in file order.

    Rows of other splits are skipped before csv parsing (the csv is ~300 MB unzipped), so
    taking the first few faces of a split costs seconds, not a full load.
    """
    if split not in FER2013_SPLITS:
        raise DatasetError(f"unknown FER2013 split {split!r}; valid: {FER2013_SPLITS}")
    path = Path(path)
    suffix = "," + split
    with open_text(path) as handle:
        _check_header(path, next(csv.reader([handle.readline()]), None))
        for line, text in enumerate(handle, start=2):
            if not text.rstrip("\r\n").endswith(suffix):
                continue
            where = f"{path}:{line}"
            row = next(csv.reader([text]))
            emotion = _parse_row(row, where)
            yield parse_pixels(row[1], where), emotion


def sample_faces(path: str | Path, split: str, count: int = 0) -> tuple[list, np.ndarray]:
    """The first ``count`` faces of a split (0 = all): (48x48 uint8 list, int64 labels)."""
    faces, labels = [], []
    for face, emotion in split_faces(path, split):
        faces.append(face)
        labels.append(emotion)
        if count and len(faces) >= count:
            break
    if not faces:
        raise DatasetError(f"{path} has no rows with Usage {split!r}")
    return faces, np.asarray(labels, np.int64)
