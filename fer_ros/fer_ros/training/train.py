"""``fer-ros train``: dataset -> ResNet -> checkpoints, CSV log, report in a run directory.

    fer-ros train --dataset fer2013 --data ../shared/datasets/fer2013/fer2013.csv.gz \\
        --epochs 24 --out runs/fer2013_resnet18
    fer-ros train --resume runs/fer2013_resnet18          # after a kill: continues exactly
    torchrun --nproc-per-node 2 -m fer_ros train ...       # DDP (gloo on CPU, nccl on GPU)

Run directory: config.yaml, log.csv, last.pt (every epoch), best.pt (best val
accuracy), and the evaluation report of best.pt on the validation split.
"""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
import yaml

from fer_ros.core.preprocess import InputSpec
from fer_ros.training.augment import TrainAugment
from fer_ros.training.checkpoint import load_checkpoint, save_checkpoint
from fer_ros.training.config import TrainConfig
from fer_ros.training.datasets import load_splits
from fer_ros.training.engine import evaluate, make_grad_scaler, train_one_epoch
from fer_ros.training.models import create_model, load_pretrained, set_trainable

LOG_FIELDS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "img_per_s",
              "train_seconds", "train_images")


def input_spec(cfg: TrainConfig) -> InputSpec:
    return InputSpec(size=cfg.input_size, channels=cfg.channels,
                     mean=(cfg.norm_mean,) * cfg.channels, std=(cfg.norm_std,) * cfg.channels,
                     crop_margin=cfg.crop_margin)


def pick_device(name: str) -> torch.device:
    """auto: CUDA if present; under torchrun each process takes GPU LOCAL_RANK."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def make_optimizer(cfg: TrainConfig, model, steps_per_epoch: int, epochs: int):
    """Optimiser + schedule for one stage of ``epochs`` epochs (warm-up or fine-tune)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                              weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
    elif cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    elif cfg.schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="max", factor=0.1, patience=cfg.plateau_patience)
    else:
        sched = None
    return opt, sched


def _setup_distributed(device: torch.device) -> tuple[int, int]:
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) == 1:
        return 0, 1
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


class Run:
    """Everything one training run holds; ``fit`` is the plain epoch loop."""

    def __init__(self, cfg: TrainConfig, resume_state: dict | None = None) -> None:
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.device = pick_device(cfg.device)
        if self.device.type == "cpu":
            torch.set_flush_denormal(True)  # 4-50x on this CPU: see the README
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.rank, self.world = _setup_distributed(self.device)
        torch.manual_seed(cfg.seed)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.spec = input_spec(cfg)
        splits = load_splits(cfg, self.spec)
        self.labels = splits.labels
        self.x_train, self.y_train = splits.x_train, splits.y_train
        self.x_val, self.y_val = splits.x_val, splits.y_val
        self.model = create_model(cfg.arch, len(self.labels), cfg.channels, cfg.stem, cfg.head,
                                  cfg.dropout).to(self.device)
        if cfg.pretrained and resume_state is None:
            missing = load_pretrained(self.model, cfg.pretrained, self.labels)
            self.log(f"pretrained {cfg.pretrained}: {len(missing)} tensors left at init")
        elif not cfg.pretrained and (cfg.unfreeze_stages < 4 or cfg.warmup_head_epochs):
            self.log("warning: frozen stages / head-only warm-up without --pretrained train "
                     "on a randomly initialised trunk; pass a local pretrained file")
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.class_weight = self._class_weight() if cfg.class_weighting else None
        self.scaler = make_grad_scaler(self.device, cfg.amp)
        self.augment = TrainAugment(cfg.rotate_deg, cfg.zoom, cfg.shift, cfg.hflip,
                                    cfg.brightness, cfg.erase_prob)
        self.start_epoch, self.best_acc, self.history = 0, -1.0, []
        self.steps = max(1, len(self.x_train) // (cfg.batch_size * self.world))
        self._configure_stage(0)
        if resume_state is not None:
            self._restore(resume_state)

    def log(self, text: str) -> None:
        if self.rank == 0:
            print(text, flush=True)

    def _class_weight(self) -> torch.Tensor:
        hard = self.y_train.argmax(1) if self.y_train.ndim == 2 else self.y_train
        counts = torch.bincount(hard, minlength=len(self.labels)).float().clamp_min(1)
        return (counts.sum() / (len(counts) * counts)).to(self.device)

    def _configure_stage(self, epoch: int) -> None:
        """Head-only warm-up epochs first, then the configured unfrozen stages."""
        head_only = epoch < self.cfg.warmup_head_epochs
        set_trainable(self.model, self.cfg.unfreeze_stages, head_only=head_only)
        self.head_only = head_only
        self.train_model = self.model
        if self.world > 1:
            self.train_model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda"
                else None, find_unused_parameters=head_only)
        warmup = min(self.cfg.warmup_head_epochs, self.cfg.epochs)
        stage_epochs = warmup if head_only else self.cfg.epochs - warmup
        self.optimizer, self.scheduler = make_optimizer(self.cfg, self.model, self.steps,
                                                        max(1, stage_epochs))

    def _state(self, epoch: int) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler else None,
                "epoch": epoch, "config": self.cfg.to_dict(), "labels": list(self.labels),
                "input_spec": self.spec.to_dict(), "rng": self.gen.get_state(),
                "torch_rng": torch.get_rng_state(), "best_acc": self.best_acc,
                "history": self.history,
                **({"scaler": self.scaler.state_dict()} if self.scaler else {})}

    def _restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.start_epoch = state["epoch"] + 1
        self._configure_stage(self.start_epoch)
        if self.head_only == (state["epoch"] < self.cfg.warmup_head_epochs):
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None and state["scheduler"] is not None:
                self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        self.gen.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.best_acc, self.history = state["best_acc"], state["history"]
        self.log(f"resumed from epoch {state['epoch'] + 1}; best val acc {self.best_acc:.4f}")

    def fit(self) -> dict:
        cfg = self.cfg
        if self.rank == 0:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        stale = self._stale_epochs()
        for epoch in range(self.start_epoch, cfg.epochs):
            if cfg.early_stop_patience and stale >= cfg.early_stop_patience:
                break  # a resumed run that had already stopped early
            if epoch == cfg.warmup_head_epochs and epoch > 0:
                self._configure_stage(epoch)
            lr = self.optimizer.param_groups[0]["lr"]
            row = train_one_epoch(self.train_model, self.optimizer, self.scheduler,
                                  self.x_train, self.y_train, cfg, self.augment, self.gen,
                                  self.device, self.class_weight, epoch, (self.rank, self.world),
                                  self.scaler)
            val = evaluate(self.model, self.x_val, self.y_val, self.device, cfg)
            row.update(epoch=epoch + 1, lr=lr, val_loss=val["val_loss"], val_acc=val["val_acc"])
            self._step_epoch_schedule(val["val_acc"])
            improved = val["val_acc"] > self.best_acc
            stale = 0 if improved else stale + 1
            self.best_acc = max(self.best_acc, val["val_acc"])
            self.history.append({k: row[k] for k in LOG_FIELDS})
            if self.rank == 0:
                self._write_epoch(epoch, row, improved)
            if cfg.early_stop_patience and stale >= cfg.early_stop_patience:
                self.log(f"early stop: no val improvement for {stale} epochs")
                break
        if self.world > 1:
            dist.destroy_process_group()
        result = {"best_val_acc": self.best_acc, "epochs": len(self.history)}
        if self.rank == 0:
            result["report"] = self._write_report()
        return result

    def _stale_epochs(self) -> int:
        """Epochs since the best validation accuracy (early-stopping state, from history)."""
        stale, best = 0, -1.0
        for row in self.history:
            stale = 0 if row["val_acc"] > best else stale + 1
            best = max(best, row["val_acc"])
        return stale

    def _write_report(self) -> str | None:
        """Report of best.pt on the validation split; a failure never costs the checkpoints."""
        try:
            from fer_ros.training.report import report_checkpoint_on_val
            return str(report_checkpoint_on_val(self.out / "best.pt", self.x_val, self.y_val,
                                                self.labels, self.cfg, self.device))
        except Exception as exc:  # noqa: BLE001 - report is optional, checkpoints are not
            self.log(f"warning: could not write the report ({type(exc).__name__}: {exc}); "
                     f"run `fer-ros evaluate --model {self.out / 'best.pt'}` to retry")
            return None

    def _step_epoch_schedule(self, val_acc: float) -> None:
        if self.cfg.schedule == "cosine":
            self.scheduler.step()
        elif self.cfg.schedule == "plateau":
            self.scheduler.step(val_acc)

    def _write_epoch(self, epoch: int, row: dict, improved: bool) -> None:
        state = self._state(epoch)
        if improved:
            save_checkpoint(self.out / "best.pt", state)
        save_checkpoint(self.out / "last.pt", state)
        if self.cfg.keep_epoch_checkpoints:
            save_checkpoint(self.out / f"epoch{epoch + 1:03d}.pt", state)
        self._write_log()
        self.log(f"epoch {epoch + 1}/{self.cfg.epochs} loss {row['train_loss']:.4f} "
                 f"train {row['train_acc']:.4f} val {row['val_acc']:.4f} "
                 f"({row['img_per_s']:.0f} img/s, {row['train_seconds']:.0f} s)"
                 f"{' *best*' if improved else ''}")


    def _write_log(self) -> None:
        """log.csv rewritten from the history saved in last.pt, so a kill at any moment
        and a resume never leave a duplicated or missing row."""
        tmp = self.out / "log.csv.tmp"
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=LOG_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.history)
        os.replace(tmp, self.out / "log.csv")


def train(cfg: TrainConfig) -> dict:
    start = time.perf_counter()
    result = Run(cfg).fit()
    result["seconds"] = time.perf_counter() - start
    return result


def resume(run_dir: str | Path) -> dict:
    state = load_checkpoint(Path(run_dir) / "last.pt")
    cfg = TrainConfig.from_dict(state["config"])
    cfg.out = str(run_dir)
    start = time.perf_counter()
    result = Run(cfg, resume_state=state).fit()
    result["seconds"] = time.perf_counter() - start
    return result
