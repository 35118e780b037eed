"""The classifier backend interface every inference engine implements.

A backend turns one preprocessed batch (float32 N x C x H x W, built by
:func:`fer_ros.core.preprocess.preprocess_faces`) into class probabilities
(float32 N x K, rows sum to 1, columns in the bundle's label order).

Implementations: ``OnnxRuntimeBackend`` and ``TorchBackend`` in
:mod:`fer_ros.core.classify`, ``TensorRTBackend`` in
:mod:`fer_ros.core.tensorrt_backend`. :func:`fer_ros.core.classify.select_backend`
picks one from the configuration.
"""
from __future__ import annotations

import abc

import numpy as np

from fer_ros.core.errors import InputError


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


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax for networks exported without it (``softmax_applied: false``)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
