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

from fer_ros.core.fer2013 import FER2013_RELATIVE
from fer_ros.core.paths import shared_dir

DATASETS = ("fer2013", "ferplus", "ckplus", "folder")
ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
HEADS = ("linear", "mlp", "attention")
STEMS = ("standard", "small")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "cosine", "plateau", "constant")
LABEL_MODES = ("majority", "probability", "crossentropy")
AMP_MODES = ("auto", "bf16", "fp16", "off")


def _opt(default, help: str, choices: tuple | None = None, shown: str | None = None):
    """A TrainConfig field with the help text, choices and default `fer-ros train --help`
    shows (``shown`` when the value itself depends on the machine)."""
    return field(default=default, metadata={"help": help, "choices": choices,
                                            "shown": shown or repr(default)})


@dataclass
class TrainConfig:
    # data
    dataset: str = _opt("fer2013", "dataset format of --data", DATASETS)
    data: str = _opt(str(shared_dir() / FER2013_RELATIVE),
                     "fer2013.csv(.gz) for fer2013/ferplus, or the image folder root for "
                     "ckplus/folder", shown="$FER_ROS_SHARED/datasets/fer2013/fer2013.csv.gz")
    labels: Optional[str] = _opt(None, "FER+ votes csv (fer2013new.csv); ferplus only")
    label_mode: str = _opt("majority", "FER+ targets: the majority vote, the vote distribution "
                           "(probability) or cross-entropy on the votes", LABEL_MODES)
    train_split: str = _opt("Training", "Usage value of the rows trained on (csv datasets)")
    val_split: str = _opt("PublicTest", "Usage value of the rows validated on (csv datasets)")
    folds: int = _opt(10, "ckplus/folder: number of subject-independent folds")
    fold: int = _opt(0, "ckplus/folder: the held-out fold used for validation")
    max_train_samples: int = _opt(0, "use only the first N training faces (0 = all; small "
                                  "values for smoke tests)")
    max_val_samples: int = _opt(0, "use only the first N validation faces (0 = all)")
    # input (stored in the model bundle; runtime uses exactly these)
    input_size: int = _opt(64, "side in pixels of the square network input")
    channels: int = _opt(1, "network input channels: 1 grayscale, 3 RGB")
    crop_margin: float = _opt(0.15, "fraction of the detector box added on each side when the "
                              "runtime crops a face (stored in the bundle)")
    norm_mean: float = _opt(0.5, "pixels in [0, 1] become (x - mean) / std, every channel")
    norm_std: float = _opt(0.5, "see --norm-mean; mean 0 and std 1 = plain [0, 1] scaling")
    # model
    arch: str = _opt("resnet18", "ResNet depth of the trunk", ARCHS)
    head: str = _opt("linear", "classifier head on the pooled features", HEADS)
    stem: str = _opt("standard", "first layers: standard ImageNet stem, or small (3x3 conv, no "
                     "max-pool) for 48-64 px faces", STEMS)
    dropout: float = _opt(0.0, "dropout before the classifier head")
    pretrained: Optional[str] = _opt(None, "initial weights: a local torchvision state dict or "
                                     "a fer_ros checkpoint")
    unfreeze_stages: int = _opt(4, "ResNet stages that train: 4 = all, 1 = only layer4 (plus "
                                "the head)")
    warmup_head_epochs: int = _opt(0, "epochs training only the head before fine-tuning all")
    # optimisation
    optimizer: str = _opt("sgd", "optimizer", OPTIMIZERS)
    lr: float = _opt(0.05, "peak learning rate")
    momentum: float = _opt(0.9, "SGD momentum (AdamW: beta1)")
    nesterov: bool = _opt(True, "Nesterov momentum for SGD (true/false)")
    weight_decay: float = _opt(5e-4, "L2 weight decay")
    schedule: str = _opt("onecycle", "learning-rate schedule", SCHEDULES)
    plateau_patience: int = _opt(3, "plateau schedule: epochs without improvement before the "
                                 "learning rate drops")
    early_stop_patience: int = _opt(0, "stop after N epochs without a better validation "
                                    "accuracy (0 = off)")
    epochs: int = _opt(12, "training epochs")
    batch_size: int = _opt(64, "faces per training batch")
    label_smoothing: float = _opt(0.1, "label smoothing of the cross-entropy loss")
    class_weighting: bool = _opt(False, "weight the loss by inverse class frequency "
                                 "(true/false)")
    # augmentation (applied on batches, see augment.py)
    rotate_deg: float = _opt(10.0, "random rotation up to +-N degrees")
    zoom: float = _opt(0.1, "random zoom up to +-N (0.1 = a tenth of the side)")
    shift: float = _opt(0.1, "random shift up to +-N of the side")
    hflip: bool = _opt(True, "random horizontal flips (true/false)")
    brightness: float = _opt(0.2, "random brightness/contrast change up to +-N")
    erase_prob: float = _opt(0.25, "probability of erasing a random rectangle")
    # run
    seed: int = _opt(0, "random seed (data order, augmentation, initial weights)")
    amp: str = _opt("auto", "mixed precision: auto (bf16 on GPUs and on CPUs with native bf16, "
                    "else fp32), bf16, fp16 or off", AMP_MODES)
    channels_last: bool = _opt(True, "channels-last memory format (faster on CPUs and tensor "
                               "cores; true/false)")
    threads: int = _opt(0, "CPU threads for torch (0 = torch's default)")
    device: str = _opt("auto", "auto (CUDA when available), cpu or cuda")
    out: str = _opt("runs/fer2013_resnet18", "run directory: checkpoints, log.csv, config")
    tta_flip: bool = _opt(True, "validation also averages over the mirrored face (true/false)")
    keep_epoch_checkpoints: bool = _opt(False, "also keep every epoch's checkpoint as "
                                        "epochNNN.pt, for fer-ros average (true/false)")
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
    parser.add_argument("--config", help="YAML file with TrainConfig fields (flags override it)")
    for f in dataclasses.fields(TrainConfig):
        if f.name == "extra":
            continue
        kind = {"bool": _parse_bool, "int": int, "float": float}.get(
            str(f.type).replace("Optional[", "").rstrip("]"), str)
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind,
                            default=None, choices=f.metadata.get("choices"),
                            help=f"{f.metadata['help']} (default: {f.metadata['shown']})")


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
