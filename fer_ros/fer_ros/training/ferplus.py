"""FER+ (Barsoum et al. 2016): FER2013 pixels relabelled by 10 crowd votes per image.

``fer2013new.csv`` has one row per ``fer2013.csv`` row, in the same order:
``Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF``.
Rows with an empty image name are images FER+ dropped (not faces). Votes become
targets exactly as in the FER+ reference code (``ferplus.py``, ``_process_data``):

- single votes are removed as outliers;
- ``majority``: the class with more than half of the remaining votes, else unknown;
- ``probability`` / ``crossentropy``: the top classes (at most 3) until they hold
  75% of the votes, normalised to a distribution; discarded as unknown when they
  hold half of the votes or less, or when unknown/NF ties with them.
  ``crossentropy`` trains on that distribution; ``probability`` draws one class
  from it each time the image is seen (the paper's "probabilistic label drawing";
  see ``engine.sample_targets``).

Rows whose resulting argmax is ``unknown`` or ``NF`` are excluded (paper, Sec. 3).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from fer_ros.core.fer2013 import (FER2013_SPLITS, DatasetError, open_text,
                                  read_fer2013_rows)
from fer_ros.training.data import FaceSet

FERPLUS_LABELS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                  "contempt")
VOTE_COLUMNS = FERPLUS_LABELS + ("unknown", "NF")
HEADER = ("Usage", "Image name") + VOTE_COLUMNS
#: the votes file inside the shared folder (FER_ROS_SHARED)
FERPLUS_RELATIVE = "datasets/ferplus/fer2013new.csv"


def vote_target(votes: np.ndarray, mode: str) -> np.ndarray | None:
    """10 raw votes -> a distribution over the 8 emotions, or None (unknown/NF/no consensus)."""
    raw = np.where(votes <= 1, 0.0, votes.astype(np.float64))  # single votes are outliers
    total = raw.sum()
    if total <= 0:
        return None
    emotion = np.zeros_like(raw)
    if mode == "majority":
        if raw.max() > 0.5 * total:
            emotion[raw.argmax()] = 1.0
    else:
        emotion = _top_votes(raw, total)
    if emotion.sum() <= 0 or emotion.argmax() >= len(FERPLUS_LABELS):
        return None
    emotion = emotion[:len(FERPLUS_LABELS)]
    return (emotion / emotion.sum()).astype(np.float32)


def _top_votes(raw: np.ndarray, total: float) -> np.ndarray:
    """The FER+ reference loop: take the top-voted classes until 75% of the votes."""
    raw = raw.copy()
    emotion = np.zeros_like(raw)
    part = count = 0
    valid = True
    while part < 0.75 * total and count < 3 and valid:
        top = raw.max()
        for i in range(len(raw)):
            if raw[i] != top:
                continue
            emotion[i], raw[i] = top, 0.0
            part += top
            count += 1
            if i >= len(FERPLUS_LABELS):  # unknown / NF shares the top vote count
                valid = False
                if emotion.sum() > top:  # an emotion came first: drop the unknown share
                    emotion[i] = 0.0
                    count -= 1
                break
    if emotion.sum() <= 0.5 * total or count > 3:
        return np.zeros_like(raw)
    return emotion


def read_votes(path: str | Path):
    """Yield (line, usage, image_name, votes:int array of 10) for every row."""
    path = Path(path)
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise DatasetError(f"{path}:1: expected header {','.join(HEADER)}, got {header}")
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            if len(row) != len(HEADER):
                raise DatasetError(f"{where}: expected {len(HEADER)} columns, got {len(row)}")
            if row[0] not in FER2013_SPLITS:
                raise DatasetError(f"{where}: unknown Usage {row[0]!r}; valid: {FER2013_SPLITS}")
            try:
                votes = np.array([int(v) for v in row[2:]], dtype=np.int64)
            except ValueError:
                raise DatasetError(f"{where}: vote counts must be integers, got {row[2:]}") \
                    from None
            if (votes < 0).any():
                raise DatasetError(f"{where}: vote counts must be >= 0, got {row[2:]}")
            yield line, row[0], row[1].strip(), votes


def load_ferplus(pixels_csv: str | Path, votes_csv: str | Path, mode: str,
                 *splits: str) -> list[FaceSet]:
    """One FaceSet per requested split; targets are int64 (majority) or (N, 8) float32."""
    if mode not in ("majority", "probability", "crossentropy"):
        raise DatasetError(f"unknown FER+ label mode {mode!r}; valid: majority, probability, "
                           "crossentropy")
    for split in splits:
        if split not in FER2013_SPLITS:
            raise DatasetError(f"unknown FER+ split {split!r}; valid: {FER2013_SPLITS}")
    kept = {}  # fer2013 row index -> (split, target)
    vote_rows = 0
    for line, usage, name, votes in read_votes(votes_csv):
        vote_rows += 1
        if usage in splits and name:
            target = vote_target(votes, mode)
            if target is not None:
                kept[line - 2] = (usage, target, line)
    images = {s: [] for s in splits}
    targets = {s: [] for s in splits}
    pixel_rows = 0
    for line, _, pixels, usage in read_fer2013_rows(pixels_csv, lambda i, _: i in kept):
        pixel_rows += 1
        if pixels is None:
            continue
        split, target, vote_line = kept[line - 2]
        if usage != split:
            raise DatasetError(f"{pixels_csv}:{line}: Usage {usage!r} but {votes_csv}:"
                               f"{vote_line} says {split!r}; the files are not row-aligned")
        images[split].append(pixels)
        targets[split].append(target)
    if pixel_rows != vote_rows:
        raise DatasetError(f"{votes_csv} has {vote_rows} rows but {pixels_csv} has "
                           f"{pixel_rows}; FER+ needs the original 35,887-row fer2013.csv")
    return [_faceset(images[s], targets[s], mode, votes_csv, s) for s in splits]


def _faceset(images: list, targets: list, mode: str, path, split: str) -> FaceSet:
    if not images:
        raise DatasetError(f"{path}: no usable FER+ rows with Usage {split!r}")
    dist = np.stack(targets)
    return FaceSet(images, dist.argmax(1).astype(np.int64) if mode == "majority" else dist,
                   FERPLUS_LABELS)
