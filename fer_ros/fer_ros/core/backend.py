"""The classifier backend interface every inference engine implements.

A backend turns one preprocessed batch (float32 N x C x H x W, built by
:func:`fer_ros.core.preprocess.preprocess_faces`) into class probabilities
(float32 N x K, rows sum to 1, columns in the bundle's label order).

Implementations: ``OnnxRuntimeBackend`` in :mod:`fer_ros.core.classify`,
``TensorRTBackend`` in :mod:`fer_ros.core.tensorrt_backend`, and plugins that register a
factory under a ``classifier.backend`` name with :func:`register_backend` (``torch``:
``TorchBackend`` in :mod:`fer_ros.training.torch_backend`, which needs PyTorch).
:func:`fer_ros.core.classify.select_backend` picks one from the configuration.
"""
from __future__ import annotations

import abc
import importlib
from typing import Callable

import numpy as np

from fer_ros.core.errors import InputError

#: plugin backend name -> the module that registers it when imported. The core names the
#: module but never imports its code unless that backend is configured (torch stays off
#: the robot); the layering test keeps core's imports inside core.
PLUGIN_MODULES = {"torch": "fer_ros.training.torch_backend"}
_FACTORIES: dict[str, Callable] = {}


def register_backend(name: str, factory: Callable) -> None:
    """Make ``classifier.backend: name`` build ``factory(ClassifierConfig, Bundle)``."""
    _FACTORIES[name] = factory


def plugin_backend(name: str) -> Callable | None:
    """The factory registered for ``name`` (importing its plugin module once), or None."""
    if name not in _FACTORIES and name in PLUGIN_MODULES:
        importlib.import_module(PLUGIN_MODULES[name])
    return _FACTORIES.get(name)


class ClassifierBackend(abc.ABC):
    """One loaded network that maps a batch of face tensors to probabilities."""

    #: short human-readable name, e.g. "onnxruntime-cpu", "tensorrt-fp16".
    name: str = "backend"

    @abc.abstractmethod
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """float32 (N, C, H, W) -> float32 (N, K) probabilities; N may be 0."""

    def close(self) -> None:
        """Release sessions, engines and device memory (default: nothing to do)."""


def check_batch(batch: np.ndarray, channels: int, size: int) -> np.ndarray:
    """Validate a network input batch; returns it C-contiguous float32.

    Backends call this first so every engine rejects a wrong batch the same way.
    """
    if not isinstance(batch, np.ndarray):
        raise InputError(f"classifier input must be a numpy array, got {type(batch).__name__}")
    if batch.dtype != np.float32:
        raise InputError(f"classifier input must be float32, got {batch.dtype}; "
                         "build it with fer_ros.core.preprocess.preprocess_faces")
    expected = (channels, size, size)
    if batch.ndim != 4 or tuple(batch.shape[1:]) != expected:
        raise InputError(f"classifier input must have shape (N, {channels}, {size}, {size}), "
                         f"got {batch.shape}")
    return np.ascontiguousarray(batch)


def run_chunked(run, batch: np.ndarray, size: int) -> np.ndarray:
    """``run`` on consecutive slices of at most ``size`` rows, results concatenated.

    Engines have a maximum batch (TensorRT profiles, memory); callers hand any N.
    An empty batch gives an empty (0, 0) array without calling ``run``.
    """
    parts = [run(batch[i:i + size]) for i in range(0, len(batch), size)]
    return np.concatenate(parts) if parts else np.empty((0, 0), np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax for networks exported without it (``softmax_applied: false``)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
