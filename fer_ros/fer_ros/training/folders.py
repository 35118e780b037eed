"""Image-folder datasets (``root/<class>/*.png|jpg``) and CK+ with subject-independent folds.

CK+48 is an image folder whose file names carry the subject
(``S010_004_00000017.png``: subject S010, sequence 004, frame 17). Folds group by
subject so that no subject's frames are in both the training and the test part;
other folders group by file (plain k-fold, stratified by class).
"""
from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from fer_ros.training.data import DatasetError, FaceSet

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
CKPLUS_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)$")


def read_face_image(path: Path) -> np.ndarray:
    """A face image file -> uint8 gray (HxW) or BGR (HxWx3); DatasetError if unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise DatasetError(f"{path}: cannot be read as an image (corrupt or not an image "
                           f"file); remove it or replace it")
    if image.dtype == np.uint16:  # 16-bit PNGs: keep the top 8 bits
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8:
        raise DatasetError(f"{path}: unsupported pixel type {image.dtype}; use 8-bit images")
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return image


def load_image_folder(root: str | Path, subject_pattern: re.Pattern | None = None) -> FaceSet:
    """Every ``root/<class>/<image>``; classes are the sorted folder names.

    With ``subject_pattern`` every file stem must match it and group 1 is the
    subject id; without it every file is its own group.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; expected root/<class>/*.png|jpg")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DatasetError(f"{root}: needs at least 2 class folders, found {classes}")
    images, targets, groups = [], [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DatasetError(f"{root / name}: class folder has no {'/'.join(IMAGE_SUFFIXES)} "
                               "images; remove the folder or add images")
        for path in files:
            images.append(read_face_image(path))
            targets.append(label)
            groups.append(_group_of(path, subject_pattern))
    return FaceSet(images, np.asarray(targets, np.int64), tuple(classes),
                   np.asarray(groups, dtype=object))


def _group_of(path: Path, pattern: re.Pattern | None) -> str:
    if pattern is None:
        return str(path)
    match = pattern.match(path.stem)
    if match is None:
        raise DatasetError(f"{path}: file name does not match {pattern.pattern} "
                           "(CK+ names are SXXX_YYY_ZZZZZZZZ.png); rename it or use "
                           "--dataset folder")
    return match.group(1)


def load_ckplus(root: str | Path) -> FaceSet:
    """CK+48 (``root`` is the CK+48 folder, or its parent); groups are subject ids."""
    root = Path(root)
    if (root / "CK+48").is_dir():
        root = root / "CK+48"
    return load_image_folder(root, CKPLUS_NAME)


def group_folds(groups: np.ndarray, targets: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Fold number per image; all images of one group land in the same fold.

    Groups are dealt largest first (ties broken by a seeded shuffle) to the fold
    with the fewest images, which keeps folds balanced in size; single-image
    groups (plain k-fold) are dealt class by class so folds stay stratified.
    """
    if folds < 2:
        raise DatasetError(f"k-fold needs folds >= 2, got {folds}")
    names, inverse, sizes = np.unique(groups.astype(str), return_inverse=True, return_counts=True)
    if len(names) < folds:
        raise DatasetError(f"cannot split {len(names)} subjects/files into {folds} folds; "
                           f"use --folds {len(names)} or fewer")
    first_label = np.zeros(len(names), np.int64)
    first_label[inverse[::-1]] = targets[::-1]  # label of each group's first image
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.lexsort((first_label[order], -sizes[order]))]
    fold_of_group = np.empty(len(names), np.int64)
    load = np.zeros(folds, np.int64)
    for g in order:
        fold = int(load.argmin())
        fold_of_group[g] = fold
        load[fold] += sizes[g]
    return fold_of_group[inverse]


def split_fold(faces: FaceSet, folds: int, fold: int, seed: int = 0) -> tuple[FaceSet, FaceSet]:
    """(train, held-out) parts of ``faces`` for fold ``fold`` of ``folds``."""
    if not 0 <= fold < folds:
        raise DatasetError(f"fold must be in [0, {folds}), got {fold}")
    fold_id = group_folds(faces.groups, faces.hard_targets(), folds, seed)
    held_out = fold_id == fold
    return faces.subset(np.flatnonzero(~held_out)), faces.subset(np.flatnonzero(held_out))
