"""Emotion classification backends (ONNX Runtime) and the ``auto`` selection.

    backend = select_backend(config.classifier, bundle)   # logs what it chose and why
    probs = backend.infer(batch)                           # (N, C, H, W) -> (N, K)

``TensorRTBackend`` lives in :mod:`fer_ros.core.tensorrt_backend` and is imported
only when asked for (or tried by ``auto``); ``torch`` is a plugin backend
(:mod:`fer_ros.training.torch_backend`), so neither TensorRT nor torch is needed
to run on CPU.
"""
from __future__ import annotations

import logging

import numpy as np

from fer_ros.core.backend import (ClassifierBackend, check_batch, plugin_backend, run_chunked,
                                  softmax)
from fer_ros.core.bundle import Bundle
from fer_ros.core.config import ClassifierConfig
from fer_ros.core.errors import ConfigError, FerError, ModelError
from fer_ros.core.ort_session import ort_session

log = logging.getLogger(__name__)

ORT_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


class ChunkedBackend(ClassifierBackend):
    """Shared batch checking, chunking by ``max_batch`` and output validation."""

    def __init__(self, bundle: Bundle, max_batch: int) -> None:
        self.bundle = bundle
        self.max_batch = max_batch

    def infer(self, batch: np.ndarray) -> np.ndarray:
        spec = self.bundle.input_spec
        batch = check_batch(batch, spec.channels, spec.size)
        if len(batch) == 0:
            return np.zeros((0, self.bundle.num_classes), np.float32)
        probs = run_chunked(self._run, batch, self.max_batch).astype(np.float32, copy=False)
        if probs.shape != (len(batch), self.bundle.num_classes):
            raise ModelError(f"{self.bundle.network_path}: network returned shape {probs.shape}, "
                             f"expected ({len(batch)}, {self.bundle.num_classes}); "
                             "the bundle's labels do not match the network: re-export it")
        return probs if self.bundle.softmax_applied else softmax(probs)

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxRuntimeBackend(ChunkedBackend):
    """ONNX Runtime session on CPU, CUDA or the TensorRT execution provider."""

    def __init__(self, bundle: Bundle, device: str = "cpu", threads: int = 2,
                 max_batch: int = 16) -> None:
        super().__init__(bundle, max_batch)
        import onnxruntime as ort

        if device not in ORT_PROVIDERS:
            raise ConfigError(f"onnxruntime device must be one of {list(ORT_PROVIDERS)}, "
                              f"got {device!r}")
        wanted = ORT_PROVIDERS[device]
        available = ort.get_available_providers()
        if wanted[0] not in available:
            raise ModelError(f"onnxruntime has no {wanted[0]} (available: {available}); "
                             "install onnxruntime-gpu with matching CUDA, or use device cpu")
        self.session = ort_session(bundle.network_path, threads, wanted,
                                   f"network of bundle {bundle.path}",
                                   "the file is corrupt or not ONNX: re-export the bundle")
        inp, out = self.session.get_inputs(), self.session.get_outputs()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"{bundle.network_path}: expected 1 input and 1 output, got "
                             f"{len(inp)} and {len(out)}; re-export with `fer-ros export`")
        bundle.check_network_io(inp[0].name, inp[0].shape, out[0].name, out[0].shape)
        active = self.session.get_providers()[0]
        self.name = {"CPUExecutionProvider": "onnxruntime-cpu",
                     "CUDAExecutionProvider": "onnxruntime-cuda",
                     "TensorrtExecutionProvider": "onnxruntime-tensorrt"}.get(active, active)
        self.threads = threads

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        return self.session.run([self.bundle.output_name], {self.bundle.input_name: chunk})[0]


def _ort_providers() -> list[str]:
    import onnxruntime as ort
    return ort.get_available_providers()


def _try_tensorrt(config: ClassifierConfig, bundle: Bundle) -> tuple[ClassifierBackend | None, str]:
    """A TensorRT backend, or None and the reason it is not available."""
    try:
        from fer_ros.core.tensorrt_backend import TensorRTBackend, tensorrt_available
    except ImportError as exc:
        return None, f"fer_ros TensorRT backend not importable ({exc})"
    available, reason = tensorrt_available()
    if not available:
        return None, reason
    try:
        backend = TensorRTBackend(bundle.network_path, max_batch=config.max_batch,
                                  precision=config.precision,
                                  cache_dir=config.engine_cache_dir or None)
    except (FerError, RuntimeError, OSError) as exc:
        return None, f"TensorRT engine could not be built or loaded: {exc}"
    classes = getattr(backend, "num_classes", bundle.num_classes)
    if classes != bundle.num_classes:
        backend.close()
        raise ModelError(f"TensorRT engine for {bundle.network_path} has {classes} outputs but "
                         f"the bundle has {bundle.num_classes} labels; re-export the bundle")
    if not bundle.softmax_applied:
        backend = _SoftmaxAfter(backend)
    return backend, "TensorRT is available"


class _SoftmaxAfter(ClassifierBackend):
    """Adds the softmax a bundle exported without one needs (``softmax_applied: false``)."""

    def __init__(self, inner: ClassifierBackend) -> None:
        self.inner, self.name = inner, inner.name

    def infer(self, batch: np.ndarray) -> np.ndarray:
        out = self.inner.infer(batch)
        return softmax(out) if len(out) else out

    def close(self) -> None:
        self.inner.close()


def select_backend(config: ClassifierConfig, bundle: Bundle) -> ClassifierBackend:
    """The backend ``config`` asks for; ``auto``: TensorRT, ORT CUDA, then ORT CPU."""
    kind, device = config.backend, config.device
    if kind == "onnxruntime":
        ort_device = "cuda" if device == "cuda" else "cpu"
        log.info("classifier backend onnxruntime-%s (configured)", ort_device)
        return OnnxRuntimeBackend(bundle, ort_device, config.threads, config.max_batch)
    plugin = plugin_backend(kind)
    if plugin is not None:
        log.info("classifier backend %s (configured)", kind)
        return plugin(config, bundle)
    if kind == "tensorrt":
        backend, reason = _try_tensorrt(config, bundle)
        if backend is None:
            raise ModelError(f"backend tensorrt requested but unavailable: {reason}; "
                             "use backend auto or onnxruntime")
        log.info("classifier backend %s (configured)", backend.name)
        return backend
    if kind != "auto":
        raise ConfigError(f"unknown backend {kind!r}; valid: auto, onnxruntime, tensorrt, torch")
    return _select_auto(config, bundle)


def _select_auto(config: ClassifierConfig, bundle: Bundle) -> ClassifierBackend:
    if config.device == "cpu":
        log.info("classifier backend onnxruntime-cpu (auto: device is cpu)")
        return OnnxRuntimeBackend(bundle, "cpu", config.threads, config.max_batch)
    backend, reason = _try_tensorrt(config, bundle)
    if backend is not None:
        log.info("classifier backend %s (auto: %s)", backend.name, reason)
        return backend
    if "CUDAExecutionProvider" in _ort_providers():
        try:
            chosen = OnnxRuntimeBackend(bundle, "cuda", config.threads, config.max_batch)
            log.info("classifier backend %s (auto: TensorRT unavailable: %s)",
                     chosen.name, reason)
            return chosen
        except ModelError as exc:
            reason += f"; onnxruntime CUDA failed: {exc}"
    else:
        reason += "; onnxruntime has no CUDAExecutionProvider"
    log.info("classifier backend onnxruntime-cpu (auto: %s)", reason)
    return OnnxRuntimeBackend(bundle, "cpu", config.threads, config.max_batch)
