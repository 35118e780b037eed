"""Config -> train/validation tensors, for every supported dataset."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fer_ros.core.preprocess import InputSpec
from fer_ros.training.data import FaceSet, load_fer2013, to_tensor_batch


@dataclass
class Splits:
    labels: tuple
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def load_facesets(cfg) -> tuple[FaceSet, FaceSet]:
    """(train, validation) FaceSets named by the config; never a test split for training."""
    if cfg.dataset == "fer2013":
        if cfg.train_split != "Training":
            raise ValueError("FER2013 trains on the Training split only; PublicTest is "
                             "validation and PrivateTest is for final reporting")
        train, val = load_fer2013(cfg.data, "Training", cfg.val_split)
        return train, val
    raise ValueError(f"Invalid dataset {cfg.dataset!r}. Only fer2013 is supported.")


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
