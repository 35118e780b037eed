"""Score a checkpoint or a model bundle on one dataset split (``fer-ros evaluate``).

A ``.pt`` checkpoint runs with PyTorch; a bundle directory runs with the runtime's
own ONNX Runtime backend (:mod:`fer_ros.core.classify`). Either way the faces go
through :func:`fer_ros.core.preprocess.face_to_tensor` with the model's own
:class:`InputSpec`, exactly as on the robot.

When the model's classes are named differently from the dataset's (a FER2013
model scored on FER+ or CK+), names are matched through the one synonym table in
:mod:`fer_ros.core.labels` (happy/happiness, angry/anger, sad/sadness, ...):

- dataset classes the model lacks (e.g. FER+ "contempt" for a FER2013 model) are
  left out of the score; their images are counted in ``excluded``;
- model classes the dataset lacks (e.g. "neutral" on CK+) stay predictable and
  appear as extra confusion columns: predicting them is an error.
Both lists are in the JSON (``unmapped_dataset_labels``, ``unmapped_model_labels``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from fer_ros.core.backend import run_chunked
from fer_ros.core.classify import mirror_averaged
from fer_ros.core.labels import canonical_label
from fer_ros.core.preprocess import InputSpec
from fer_ros.training.data import FaceSet, to_tensor_batch
from fer_ros.training.report import metrics_report

DEFAULT_SPLIT = {"fer2013": "PublicTest", "ferplus": "PublicTest", "ckplus": None,
                 "folder": None}


@dataclass
class Predictor:
    """A loaded model: its classes, its preprocessing and ``probs = run(batch)``."""

    labels: tuple
    spec: InputSpec
    run: Callable[[np.ndarray], np.ndarray]
    backend: str


def load_predictor(path: str | Path, threads: int = 2) -> Predictor:
    """A ``fer-ros train`` checkpoint (.pt) or a model bundle directory."""
    path = Path(path)
    if path.is_dir():
        return _bundle_predictor(path, threads)
    if path.is_file():
        return _checkpoint_predictor(path, threads)
    raise FileNotFoundError(f"--model {path} does not exist; pass a checkpoint (.pt) written by "
                            "`fer-ros train` or a bundle directory with model.json")


def _bundle_predictor(path: Path, threads: int) -> Predictor:
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.classify import OnnxRuntimeBackend
    bundle = load_bundle(path)
    backend = OnnxRuntimeBackend(bundle, device="cpu", threads=threads, max_batch=256)
    return Predictor(bundle.labels, bundle.input_spec, backend.infer, backend.name)


def _checkpoint_predictor(path: Path, threads: int) -> Predictor:
    import torch

    from fer_ros.training.checkpoint import load_checkpoint
    from fer_ros.training.models import model_from_checkpoint
    torch.set_flush_denormal(True)
    if threads:
        torch.set_num_threads(threads)
    state = load_checkpoint(path)
    model = model_from_checkpoint(state)
    spec = InputSpec.from_dict(state["input_spec"])

    @torch.inference_mode()
    def softmax_of(chunk: np.ndarray) -> np.ndarray:
        return torch.softmax(model(torch.from_numpy(chunk)), 1).numpy()

    def run(batch: np.ndarray) -> np.ndarray:
        if not len(batch):
            return np.zeros((0, len(state["labels"])), np.float32)
        return run_chunked(softmax_of, batch, 256)

    return Predictor(tuple(state["labels"]), spec, run, "torch")


TTA_MODES = ("none", "flip", "tencrop")
TEN_CROP_SCALE = 0.875  # each crop keeps 87.5% of the side, resized back to the input size


def ten_crops(x: np.ndarray) -> list[np.ndarray]:
    """Four corner crops and the centre crop of an NCHW batch, and their mirrors."""
    import torch
    import torch.nn.functional as F

    size = x.shape[-1]
    side = int(round(size * TEN_CROP_SCALE))
    last = size - side
    corners = [(0, 0), (0, last), (last, 0), (last, last), (last // 2, last // 2)]
    crops = []
    for top, left in corners:
        part = torch.from_numpy(np.ascontiguousarray(x[..., top:top + side, left:left + side]))
        crop = F.interpolate(part, size=(size, size), mode="bilinear",
                             align_corners=False).numpy()
        crops += [crop, np.ascontiguousarray(crop[..., ::-1])]
    return crops


def predict_faces(predictor: Predictor, faces: FaceSet, tta: str = "none") -> np.ndarray:
    """(N, K) probabilities; ``flip`` averages with the mirrored face, ``tencrop`` over
    :func:`ten_crops`. ``none`` is exactly what the robot computes."""
    if tta not in TTA_MODES:
        raise ValueError(f"Invalid tta {tta!r}. Only {', '.join(TTA_MODES)} are supported.")
    x = to_tensor_batch(faces, predictor.spec)
    if tta == "none":
        return predictor.run(x)
    if tta == "flip":
        return mirror_averaged(predictor.run, x)
    return np.mean([predictor.run(v) for v in ten_crops(x)], axis=0)


def _key(name: str) -> str:
    return canonical_label(name) or name.strip().lower()


def match_labels(model_labels, dataset_labels) -> tuple[list[int], list[str], list[str]]:
    """(model index -> kept dataset index or -1, unmapped dataset, unmapped model labels)."""
    model_keys = [_key(n) for n in model_labels]
    kept = [n for n in dataset_labels if _key(n) in model_keys]
    kept_keys = [_key(n) for n in kept]
    pred_to_true = [kept_keys.index(k) if k in kept_keys else -1 for k in model_keys]
    unmapped_data = [n for n in dataset_labels if _key(n) not in model_keys]
    unmapped_model = [m for m, t in zip(model_labels, pred_to_true) if t < 0]
    return pred_to_true, unmapped_data, unmapped_model


def score(predictor: Predictor, faces: FaceSet, tta: str = "none") -> dict:
    """The report dict for ``faces``, with the model's labels matched to the dataset's."""
    pred_to_true, unmapped_data, unmapped_model = match_labels(predictor.labels, faces.labels)
    if all(t < 0 for t in pred_to_true):
        raise ValueError(f"no class of the model {list(predictor.labels)} matches a class of "
                         f"the dataset {list(faces.labels)}; add a synonym in "
                         "fer_ros/core/labels.py or rename the class folders")
    kept_labels = [n for n in faces.labels if n not in unmapped_data]
    dataset_to_kept = {i: kept_labels.index(n) for i, n in enumerate(faces.labels)
                       if n in kept_labels}
    hard = faces.hard_targets()
    keep = np.array([t in dataset_to_kept for t in hard], bool)
    faces_kept = faces.subset(np.flatnonzero(keep))
    probs = predict_faces(predictor, faces_kept, tta)
    true_idx = np.array([dataset_to_kept[t] for t in hard[keep]], np.int64)
    report = metrics_report(probs, true_idx, kept_labels, predictor.labels, pred_to_true)
    counts = np.bincount(hard[~keep], minlength=len(faces.labels))
    report.update(model_labels=list(predictor.labels), unmapped_model_labels=unmapped_model,
                  unmapped_dataset_labels={n: int(counts[faces.labels.index(n)])
                                           for n in unmapped_data},
                  excluded=int((~keep).sum()), tta=tta, backend=predictor.backend)
    return report
