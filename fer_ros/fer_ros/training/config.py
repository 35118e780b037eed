"""One typed training configuration: YAML file -> CLI overrides -> TrainConfig.

Every field of :class:`TrainConfig` is a command-line flag of ``fer-ros train``
(``--epochs 30``); a ``--config run.yaml`` file sets defaults that flags override.
The resolved config is saved in the run directory and inside every checkpoint,
so ``--resume`` rebuilds exactly the same model and schedule.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

DATASETS = ("fer2013", "ferplus", "ckplus", "folder")
ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
HEADS = ("linear", "mlp", "attention")
STEMS = ("standard", "small")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "cosine", "plateau", "constant")
LABEL_MODES = ("majority", "probability", "crossentropy")
AMP_MODES = ("auto", "bf16", "fp16", "off")


@dataclass
class TrainConfig:
    # data
    dataset: str = "fer2013"
    data: str = "../shared/datasets/fer2013/fer2013.csv.gz"
    labels: Optional[str] = None          # FER+ votes csv (fer2013new.csv)
    label_mode: str = "majority"          # FER+ only
    train_split: str = "Training"
    val_split: str = "PublicTest"
    folds: int = 10                       # CK+ / folder: subject-independent k-fold
    fold: int = 0
    max_train_samples: int = 0            # 0 = all; small values for smoke tests
    max_val_samples: int = 0
    # input (stored in the model bundle; runtime uses exactly these)
    input_size: int = 64
    channels: int = 1
    crop_margin: float = 0.15
    norm_mean: float = 0.5                # pixels in [0, 1] -> (x - mean) / std, every channel
    norm_std: float = 0.5                 # mean 0, std 1 = plain [0, 1] scaling (ResNet152 system)
    # model
    arch: str = "resnet18"
    head: str = "linear"
    stem: str = "standard"
    dropout: float = 0.0
    pretrained: Optional[str] = None      # local file: torchvision state dict or our checkpoint
    unfreeze_stages: int = 4              # 4 = everything trains; 1 = only layer4 (+ head)
    warmup_head_epochs: int = 0           # head-only epochs before full fine-tuning
    # optimisation
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    plateau_patience: int = 3
    early_stop_patience: int = 0          # 0 = off
    epochs: int = 12
    batch_size: int = 64
    label_smoothing: float = 0.1
    class_weighting: bool = False
    # augmentation (applied on batches, see augment.py)
    rotate_deg: float = 10.0
    zoom: float = 0.1
    shift: float = 0.1
    hflip: bool = True
    brightness: float = 0.2
    erase_prob: float = 0.25
    # run
    seed: int = 0
    amp: str = "auto"                     # auto | bf16 | fp16 | off
    channels_last: bool = True
    threads: int = 0                      # 0 = torch default
    device: str = "auto"
    out: str = "runs/fer2013_resnet18"
    tta_flip: bool = True
    extra: dict = field(default_factory=dict)

    def validate(self) -> "TrainConfig":
        for name, allowed in (("dataset", DATASETS), ("arch", ARCHS), ("head", HEADS),
                              ("stem", STEMS), ("optimizer", OPTIMIZERS),
                              ("schedule", SCHEDULES), ("label_mode", LABEL_MODES),
                              ("amp", AMP_MODES)):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"Invalid {name} {value!r}. Only {', '.join(allowed)} "
                                 "are supported.")
        if not 0 <= self.fold < max(1, self.folds):
            raise ValueError(f"fold must be in [0, {self.folds}), got {self.fold}")
        if not 1 <= self.unfreeze_stages <= 4:
            raise ValueError(f"unfreeze_stages must be 1..4, got {self.unfreeze_stages}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if not 0 <= self.warmup_head_epochs < self.epochs:
            raise ValueError(f"warmup_head_epochs must be in [0, epochs={self.epochs}), got "
                             f"{self.warmup_head_epochs}")
        if self.label_mode != "majority" and self.dataset != "ferplus":
            raise ValueError(f"label_mode {self.label_mode!r} needs FER+ votes; use "
                             "--dataset ferplus --labels fer2013new.csv or label_mode majority")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training config keys {unknown}; valid keys: "
                             f"{sorted(known)}")
        return cls(**values).validate()


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field, defaulting to None (= not given)."""
    parser.add_argument("--config", help="YAML file with TrainConfig fields")
    for f in dataclasses.fields(TrainConfig):
        if f.name == "extra":
            continue
        kind = {"bool": _parse_bool, "int": int, "float": float}.get(
            str(f.type).replace("Optional[", "").rstrip("]"), str)
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind,
                            default=None, help=f"(default: {f.default!r})")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values: dict = {}
    if getattr(args, "config", None):
        path = Path(args.config)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        values.update(yaml.safe_load(path.read_text()) or {})
    for f in dataclasses.fields(TrainConfig):
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    return TrainConfig.from_dict(values)
