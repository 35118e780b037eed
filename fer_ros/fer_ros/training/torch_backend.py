"""Classifier backend ``torch``: a fer_ros training checkpoint run with PyTorch.

Lives in training/ (it needs torch, which the robot runtime never imports) and registers
itself with the core's backend interface when imported; :func:`fer_ros.core.classify.
select_backend` imports this module only when ``classifier.backend`` is ``torch``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from fer_ros.core.backend import register_backend
from fer_ros.core.bundle import Bundle
from fer_ros.core.classify import ChunkedBackend
from fer_ros.core.config import ClassifierConfig
from fer_ros.core.errors import ConfigError, ModelError


class TorchBackend(ChunkedBackend):
    """A fer_ros training checkpoint run with PyTorch (only when torch is installed)."""

    def __init__(self, bundle: Bundle, checkpoint: str | Path, device: str = "cpu",
                 threads: int = 2, max_batch: int = 16) -> None:
        super().__init__(bundle, max_batch)
        try:
            import torch
            from fer_ros.training.checkpoint import load_checkpoint
            from fer_ros.training.models import model_from_checkpoint
        except ImportError as exc:
            raise ModelError(f"backend torch needs PyTorch ({exc}); install torch or use "
                             "backend onnxruntime") from None
        path = Path(checkpoint)
        try:
            state = load_checkpoint(path)
            labels = tuple(state["labels"])
            model = model_from_checkpoint(state)
        except FileNotFoundError:
            raise ModelError(f"checkpoint {path} does not exist; set classifier.checkpoint "
                             "to a fer_ros training checkpoint (best.pt)") from None
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise ModelError(f"checkpoint {path} cannot be used ({exc}); it is corrupt or "
                             "not a fer_ros training checkpoint") from None
        if labels != bundle.labels:
            raise ModelError(f"checkpoint {path} labels {list(labels)} differ from bundle "
                             f"{bundle.path} labels {list(bundle.labels)}; use the bundle "
                             "exported from this checkpoint")
        self.torch = torch
        use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        self.device = torch.device("cuda" if use_cuda else "cpu")
        torch.set_num_threads(threads)
        self.model = model.to(self.device)
        self.bundle = dataclasses.replace(bundle, softmax_applied=False)  # module gives logits
        self.name = f"torch-{self.device.type}"

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(chunk).to(self.device)).cpu().numpy()


def _checkpoint(config: ClassifierConfig, bundle: Bundle) -> Path:
    if config.checkpoint:
        return Path(config.checkpoint)
    source = bundle.metadata.get("training", {}).get("source_checkpoint")
    if not source:
        raise ConfigError("backend torch needs classifier.checkpoint (a training .pt file); "
                          f"bundle {bundle.path} names no training.source_checkpoint")
    return Path(source)


def make_torch_backend(config: ClassifierConfig, bundle: Bundle) -> TorchBackend:
    return TorchBackend(bundle, _checkpoint(config, bundle), config.device, config.threads,
                        config.max_batch)


register_backend("torch", make_torch_backend)
