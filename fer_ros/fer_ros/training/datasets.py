"""Config -> train/validation tensors, for every supported dataset.

Split names per dataset:

- fer2013, ferplus: the csv ``Usage`` values ``Training``, ``PublicTest`` (validation),
  ``PrivateTest`` (test; final reporting only, never trained on). Aliases: train,
  val, test.
- ckplus, folder: ``train`` and ``val`` (= ``test``): the training part and the
  held-out fold of ``folds``-fold cross-validation (CK+ by subject, folders by
  file); ``all`` is every image. A folder whose root holds sub-folders named by
  ``train_split`` and ``val_split`` (e.g. ``train/`` and ``val/``) uses those instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fer_ros.core.preprocess import InputSpec
from fer_ros.training.data import DatasetError, FaceSet, load_fer2013, to_tensor_batch
from fer_ros.training.ferplus import load_ferplus
from fer_ros.training.folders import load_ckplus, load_image_folder, split_fold

CSV_ALIASES = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FOLD_ALIASES = {"train": "train", "val": "val", "test": "val", "all": "all", None: "all"}


@dataclass
class Splits:
    labels: tuple
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def load_faces(dataset: str, data: str, split: str | None, *, labels: str | None = None,
               label_mode: str = "majority", folds: int = 10, fold: int = 0) -> FaceSet:
    """One named split of one dataset (see the module doc for the split names)."""
    return _load(dataset, data, [split], labels, label_mode, folds, fold)[0]


def _load(dataset, data, splits, labels, label_mode, folds, fold) -> list[FaceSet]:
    if dataset in ("fer2013", "ferplus"):
        names = [CSV_ALIASES.get(s, s) for s in splits]
        if None in names:
            raise DatasetError(f"{dataset} needs a split: Training, PublicTest or PrivateTest")
        if dataset == "fer2013":
            return load_fer2013(data, *names)
        if not labels:
            raise DatasetError("FER+ needs --labels PATH/fer2013new.csv (the votes) besides "
                               "--data PATH/fer2013.csv(.gz) (the pixels)")
        return load_ferplus(data, labels, label_mode, *names)
    if dataset in ("ckplus", "folder"):
        return _load_folder(dataset, Path(data), splits, folds, fold)
    raise DatasetError(f"Invalid dataset {dataset!r}. Only fer2013, ferplus, ckplus and folder "
                       "are supported.")


def _load_folder(dataset: str, root: Path, splits, folds: int, fold: int) -> list[FaceSet]:
    if dataset == "folder" and all(s and (root / s).is_dir() for s in splits):
        return [load_image_folder(root / s) for s in splits]
    unknown = [s for s in splits if s not in FOLD_ALIASES]
    if unknown:
        raise DatasetError(f"unknown {dataset} split {unknown[0]!r}; valid: train, val, test, "
                           f"all (or sub-folders of {root})")
    faces = load_ckplus(root) if dataset == "ckplus" else load_image_folder(root)
    parts = {"all": faces}
    if any(FOLD_ALIASES[s] != "all" for s in splits):
        parts["train"], parts["val"] = split_fold(faces, folds, fold)
    return [parts[FOLD_ALIASES[s]] for s in splits]


def load_facesets(cfg) -> tuple[FaceSet, FaceSet]:
    """(train, validation) FaceSets named by the config; never a test split for training."""
    train_split = cfg.train_split
    if cfg.dataset in ("fer2013", "ferplus"):
        if CSV_ALIASES.get(train_split, train_split) != "Training":
            raise DatasetError(f"{cfg.dataset} trains on the Training split only; PublicTest is "
                               "validation and PrivateTest is for final reporting")
        if CSV_ALIASES.get(cfg.val_split, cfg.val_split) == "PrivateTest":
            raise DatasetError("PrivateTest is for final reporting only; validate on "
                               "PublicTest (select epochs on it, report PrivateTest once)")
        splits = [train_split, cfg.val_split]
    else:
        root = Path(cfg.data)
        own_dirs = (root / train_split).is_dir() and (root / cfg.val_split).is_dir()
        splits = [train_split, cfg.val_split] if own_dirs else ["train", "val"]
    train, val = _load(cfg.dataset, cfg.data, splits, cfg.labels, cfg.label_mode,
                       cfg.folds, cfg.fold)
    if train.labels != val.labels:
        raise DatasetError(f"{cfg.data}: train classes {train.labels} differ from validation "
                           f"classes {val.labels}")
    return train, val


def val_split_name(cfg) -> str:
    """The validation split as reports name it ("PublicTest", "val (fold 3 of 10)")."""
    if cfg.dataset in ("fer2013", "ferplus") or (Path(cfg.data) / cfg.val_split).is_dir():
        return cfg.val_split
    return f"val (fold {cfg.fold} of {cfg.folds})"


def _limit(faces: FaceSet, count: int, seed: int) -> FaceSet:
    if not count or count >= len(faces):
        return faces
    return faces.subset(np.random.default_rng(seed).permutation(len(faces))[:count])


def _tensors(faces: FaceSet, spec: InputSpec) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(to_tensor_batch(faces, spec))
    t = faces.targets
    y = torch.from_numpy(t.astype(np.float32) if t.ndim == 2 else t.astype(np.int64))
    return x, y


def load_splits(cfg, spec: InputSpec) -> Splits:
    train, val = load_facesets(cfg)
    train = _limit(train, cfg.max_train_samples, cfg.seed)
    val = _limit(val, cfg.max_val_samples, cfg.seed)
    x_train, y_train = _tensors(train, spec)
    x_val, y_val = _tensors(val, spec)
    return Splits(train.labels, x_train, y_train, x_val, y_val)
