"""Training checkpoint -> model bundle (``model.onnx`` + ``model.json``), checked on real faces.

    fer-ros export runs/ferplus_stage2/best.pt fer_ros/models/ferplus \\
        --name ferplus_resnet18 --version 2.0.0 --crop-margin 0.0

The network is rebuilt from the config saved in the checkpoint, wrapped with a
softmax and exported in fp32 (training may have run channels-last with bf16
autocast; the bundle never depends on that). Before anything is written to
OUT_DIR, PyTorch and ONNX Runtime run the same real validation faces and must
agree on every top-1 class, else :class:`ExportError` and nothing is published.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

import fer_ros
from fer_ros.core.backend import run_chunked
from fer_ros.core.bundle import file_sha256
from fer_ros.core.ort_session import ort_session
from fer_ros.core.fer2013 import FER2013_RELATIVE, sample_faces
from fer_ros.core.paths import shared_dir
from fer_ros.core.preprocess import InputSpec, face_to_tensor
from fer_ros.training.checkpoint import load_checkpoint
from fer_ros.training.config import TrainConfig
from fer_ros.training.models import model_from_checkpoint

FORMAT_VERSION = 1
OPSET = 18
INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
DEFAULT_DATA = shared_dir() / FER2013_RELATIVE
# fp32 export vs fp32 PyTorch differ by float rounding only; 1e-4 leaves room for
# kernel differences while catching a wrong graph (which differs by ~0.1).
PARITY_TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """The checkpoint cannot become a bundle; the message says why and what to do."""


@dataclass
class LoadedCheckpoint:
    model: nn.Module          # eval mode, fp32, contiguous
    config: TrainConfig
    labels: tuple
    spec: InputSpec
    state: dict


def load_trained_model(path: str | Path) -> LoadedCheckpoint:
    """Rebuild the network of a ``fer-ros train`` checkpoint in fp32 eval mode."""
    state = load_checkpoint(path)
    missing = [k for k in ("model", "config", "labels", "input_spec", "epoch") if k not in state]
    if missing:
        raise ExportError(f"checkpoint {path} lacks {missing}; export needs a checkpoint "
                          "written by `fer-ros train` (best.pt or last.pt)")
    cfg = TrainConfig.from_dict(state["config"])
    labels = tuple(state["labels"])
    spec = InputSpec.from_dict(state["input_spec"])
    try:
        model = model_from_checkpoint(state)
    except RuntimeError as exc:
        raise ExportError(f"checkpoint {path} weights do not fit {cfg.arch}/{cfg.head}/"
                          f"{cfg.stem}: {exc}") from exc
    return LoadedCheckpoint(model, cfg, labels, spec, state)


class WithSoftmax(nn.Module):
    """The classifier followed by a softmax, so the bundle outputs probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=1)


def export_onnx(model: nn.Module, spec: InputSpec, path: Path) -> None:
    """fp32 ONNX, input "input" (batch, C, H, W), output "probabilities" (batch, K)."""
    wrapped = WithSoftmax(model).eval()
    example = torch.zeros(2, spec.channels, spec.size, spec.size)
    batch = torch.export.Dim("batch", min=1, max=4096)
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(wrapped, (example,), str(path), input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], dynamic_shapes={"x": {0: batch}},
                          opset_version=OPSET, dynamo=True, external_data=False,
                          verbose=False)


def sample_fer2013(path: str | Path, split: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` faces of a FER2013 split (0 = all): uint8 (N,48,48), int64 labels.

    Parses only the rows of ``split``, so a few faces cost seconds, not a full load.
    """
    faces, labels = sample_faces(path, split, count)
    return np.stack(faces), labels


def validation_faces(cfg: TrainConfig, data: str | Path | None,
                     count: int) -> tuple[list, np.ndarray]:
    """The first ``count`` faces (0 = all) of a training run's own validation split and their
    class indices: FER2013 rows straight from the csv, any other dataset via its loader."""
    if cfg.dataset == "fer2013":
        return sample_fer2013(data or DEFAULT_DATA, cfg.val_split, count)
    from fer_ros.training.datasets import load_facesets  # the split logic training used
    _, faces = load_facesets(dataclasses.replace(cfg, data=str(data)) if data else cfg)
    if count:
        faces = faces.subset(np.arange(min(count, len(faces))))
    return faces.images, faces.hard_targets()


def faces_to_batch(faces: np.ndarray, spec: InputSpec) -> np.ndarray:
    """uint8 face crops -> float32 NCHW through the runtime's own preprocessing."""
    return np.stack([face_to_tensor(face, spec) for face in faces]).astype(np.float32)


def ort_predict(session, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return run_chunked(lambda chunk: session.run([OUTPUT_NAME], {INPUT_NAME: chunk})[0],
                       x, batch_size)


def check_parity(model: nn.Module, onnx_path: Path, x: np.ndarray) -> dict:
    """PyTorch vs ONNX Runtime on the same faces; ExportError unless top-1 agrees 100%."""
    with torch.no_grad():
        expected = WithSoftmax(model).eval()(torch.from_numpy(x)).numpy()
    got = ort_predict(ort_session(onnx_path), x)
    max_diff = float(np.abs(expected - got).max())
    agreement = float((expected.argmax(1) == got.argmax(1)).mean())
    report = {"faces": int(len(x)), "max_abs_diff": max_diff, "top1_agreement": agreement}
    if agreement < 1.0 or max_diff > PARITY_TOLERANCE:
        raise ExportError(f"ONNX export does not match PyTorch on {len(x)} real faces: top-1 "
                          f"agreement {agreement:.2%}, max abs diff {max_diff:.2e} (allowed "
                          f"{PARITY_TOLERANCE:.0e}); the exported graph is wrong, do not ship it")
    return report


def read_metrics_json(path: str | Path) -> dict:
    """Numbers from a ``fer-ros evaluate --json`` file (or any flat JSON of name: number).

    Evaluate reports carry "dataset" and "split"; their numbers are then named
    ``<dataset>_<split>_<name>`` (``n`` becomes ``faces``) so several reports can
    sit side by side: ``ferplus_privatetest_accuracy``, ``ckplus_all_macro_f1``.
    """
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ExportError(f"metrics file {path} is not readable JSON ({exc})") from exc
    if isinstance(values, dict) and isinstance(values.get("metrics"), dict):
        values = values["metrics"]
    if not isinstance(values, dict):
        raise ExportError(f"metrics file {path} must hold a JSON object of name: number")
    prefix = ""
    if isinstance(values.get("dataset"), str) and isinstance(values.get("split"), str):
        prefix = f"{values['dataset']}_{values['split'].lower()}_"
    return {prefix + ("faces" if k == "n" else k): float(v) for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def metric_prefix(cfg: TrainConfig) -> str:
    """``fer2013_publictest``, or ``ckplus_fold3of10`` for k-fold validation."""
    if cfg.dataset in ("fer2013", "ferplus"):
        return f"{cfg.dataset}_{cfg.val_split.lower()}"
    return f"{cfg.dataset}_fold{cfg.fold}of{cfg.folds}"


def checkpoint_metrics(loaded: LoadedCheckpoint) -> dict:
    """Validation accuracy the training loop logged for this checkpoint's epoch."""
    cfg = loaded.config
    history = loaded.state.get("history") or []
    epoch = int(loaded.state["epoch"])
    if not 0 <= epoch < len(history) or cfg.max_val_samples:
        return {}  # a subset's accuracy would pass for the split's: leave it out
    key = f"{metric_prefix(cfg)}_accuracy"
    suffix = "_flip_tta" if cfg.tta_flip else ""
    return {f"{key}_training_log{suffix}": float(history[epoch]["val_acc"])}


def build_metadata(loaded: LoadedCheckpoint, name: str, version: str, network_sha256: str,
                   checkpoint: str | Path, metrics: dict, precision: str = "fp32") -> dict:
    cfg, spec = loaded.config, loaded.spec
    return {
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": version,
        "network": "model.onnx",
        "network_sha256": network_sha256,
        "labels": list(loaded.labels),
        "input": {"name": INPUT_NAME, **spec.to_dict(), "layout": "NCHW", "dtype": "float32"},
        "output": {"name": OUTPUT_NAME, "softmax_applied": True},
        "arch": cfg.arch,
        "precision": precision,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "fer_ros_version": fer_ros.__version__,
        "training": {"dataset": cfg.dataset, "source_checkpoint": str(checkpoint),
                     "config": cfg.to_dict(), "epochs": int(loaded.state["epoch"]) + 1,
                     "configured_epochs": cfg.epochs},
        "metrics": metrics,
        # more networks (int8 from `fer-ros quantize`) join this map in the same model.json
        "networks": {precision: {"file": "model.onnx", "sha256": network_sha256,
                                 "metrics": metrics}},
    }


def write_json(path: Path, values: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(values, indent=2) + "\n")
    os.replace(tmp, path)


def publish_bundle(out_dir: Path, onnx_tmp: Path, metadata: dict) -> None:
    """Move the verified network in place, then write model.json (last, so a reader
    never sees metadata for a network that is not there yet)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    os.replace(onnx_tmp, out_dir / "model.onnx")
    write_json(out_dir / "model.json", metadata)
    # networks derived from the previous model (model.int8.onnx) no longer match it
    for stale in set(out_dir.glob("model.*.onnx")):
        stale.unlink()
        print(f"removed {stale}: made from the previous network; run `fer-ros quantize "
              f"{out_dir}` for a new one")


def measure_accuracy(onnx_path: Path, loaded: LoadedCheckpoint, data: str | Path | None,
                     val_samples: int, log=print) -> dict:
    """The exported network's own top-1 accuracy on the validation split (no TTA)."""
    cfg = loaded.config
    faces, targets = validation_faces(loaded.config, data, val_samples)
    probs = ort_predict(ort_session(onnx_path), faces_to_batch(faces, loaded.spec))
    accuracy = float((probs.argmax(1) == targets).mean())
    key = metric_prefix(cfg)
    log(f"ONNX accuracy on {len(faces)} {key} faces: {accuracy:.4f}")
    return {f"{key}_accuracy": accuracy, f"{key}_faces": len(faces)}


def export_bundle(checkpoint: str | Path, out_dir: str | Path, name: str | None = None,
                  version: str = "1.0.0", metrics_json=None,
                  data: str | Path | None = None, parity_faces: int = 64,
                  val_samples: int = 0, crop_margin: float | None = None,
                  log=print) -> dict:
    """The whole ``fer-ros export``; returns the written metadata plus a "parity" report.

    ``crop_margin`` overrides the training config's value: it only tells the runtime how
    to frame detector boxes (training never crops), so it is chosen after training by
    ``python -m fer_ros.bench.crop_margin`` on validation faces.
    """
    out_dir = Path(out_dir)
    loaded = load_trained_model(checkpoint)
    if crop_margin is not None:
        loaded.spec = dataclasses.replace(loaded.spec, crop_margin=crop_margin)
    cfg = loaded.config
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_tmp = out_dir / "model.onnx.tmp"
    try:
        log(f"exporting {checkpoint} (epoch {loaded.state['epoch'] + 1}, {cfg.arch}) to ONNX")
        export_onnx(loaded.model, loaded.spec, onnx_tmp)
        faces, _ = validation_faces(loaded.config, data, parity_faces)
        parity = check_parity(loaded.model, onnx_tmp, faces_to_batch(faces, loaded.spec))
        log(f"parity on {parity['faces']} real {cfg.val_split} faces: top-1 agreement "
            f"{parity['top1_agreement']:.0%}, max abs diff {parity['max_abs_diff']:.2e}")
        metrics = checkpoint_metrics(loaded)
        metrics.update(measure_accuracy(onnx_tmp, loaded, data, val_samples, log))
        for path in ([metrics_json] if isinstance(metrics_json, (str, Path)) else
                     metrics_json or []):
            metrics.update(read_metrics_json(path))
        metadata = build_metadata(loaded, name or f"{cfg.dataset}_{cfg.arch}", version,
                                  file_sha256(onnx_tmp), checkpoint, metrics)
        publish_bundle(out_dir, onnx_tmp, metadata)
    finally:
        onnx_tmp.unlink(missing_ok=True)
    log(f"bundle written to {out_dir}")
    return {**metadata, "parity": parity}
