"""Emotion classification backends (ONNX Runtime, PyTorch) and the ``auto`` selection.

    backend = select_backend(config.classifier, bundle)   # logs what it chose and why
    probs = backend.infer(batch)                           # (N, C, H, W) -> (N, K)

``TensorRTBackend`` lives in :mod:`fer_ros.core.tensorrt_backend` and is imported
only when asked for (or tried by ``auto``), so neither TensorRT nor torch is needed
to run on CPU.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from fer_ros.core.backend import ClassifierBackend, check_batch, softmax
from fer_ros.core.bundle import Bundle
from fer_ros.core.config import ClassifierConfig
from fer_ros.core.errors import ConfigError, FerError, ModelError

log = logging.getLogger(__name__)

ORT_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


class _ChunkedBackend(ClassifierBackend):
    """Shared batch checking, chunking by ``max_batch`` and output validation."""

    def __init__(self, bundle: Bundle, max_batch: int) -> None:
        self.bundle = bundle
        self.max_batch = max_batch

    def infer(self, batch: np.ndarray) -> np.ndarray:
        spec = self.bundle.input_spec
        batch = check_batch(batch, spec.channels, spec.size)
        if len(batch) == 0:
            return np.zeros((0, self.bundle.num_classes), np.float32)
        parts = [self._run(batch[i:i + self.max_batch])
                 for i in range(0, len(batch), self.max_batch)]
        probs = np.concatenate(parts).astype(np.float32, copy=False)
        if probs.shape != (len(batch), self.bundle.num_classes):
            raise ModelError(f"{self.bundle.network_path}: network returned shape {probs.shape}, "
                             f"expected ({len(batch)}, {self.bundle.num_classes}); "
                             "the bundle's labels do not match the network: re-export it")
        return probs if self.bundle.softmax_applied else softmax(probs)

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxRuntimeBackend(_ChunkedBackend):
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
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No busy-waiting between calls: on a robot other nodes share the cores, and a
        # spinning pool doubled CPU time for the same latency in our measurements.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(bundle.network_path), options,
                                                providers=wanted)
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise ModelError(f"{bundle.network_path}: onnxruntime cannot load the network "
                             f"({type(exc).__name__}: {exc}); the file is corrupt or not "
                             "ONNX: re-export the bundle") from None
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


class TorchBackend(_ChunkedBackend):
    """A fer_ros training checkpoint run with PyTorch (only when torch is installed)."""

    def __init__(self, bundle: Bundle, checkpoint: str | Path, device: str = "cpu",
                 threads: int = 2, max_batch: int = 16) -> None:
        super().__init__(bundle, max_batch)
        try:
            import torch
            from fer_ros.training.checkpoint import load_checkpoint
            from fer_ros.training.models import create_model
        except ImportError as exc:
            raise ModelError(f"backend torch needs PyTorch ({exc}); install torch or use "
                             "backend onnxruntime") from None
        path = Path(checkpoint)
        try:
            state = load_checkpoint(path)
            cfg, labels = state["config"], tuple(state["labels"])
        except FileNotFoundError:
            raise ModelError(f"checkpoint {path} does not exist; set classifier.checkpoint "
                             "to a fer_ros training checkpoint (best.pt)") from None
        except (ValueError, KeyError, TypeError) as exc:
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
        model = create_model(cfg["arch"], len(labels), cfg.get("channels", 1),
                             cfg.get("stem", "standard"), cfg.get("head", "linear"),
                             cfg.get("dropout", 0.0))
        model.load_state_dict(state["model"])
        self.model = model.eval().to(self.device)
        self.bundle = dataclasses.replace(bundle, softmax_applied=False)  # module gives logits
        self.name = f"torch-{self.device.type}"

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(chunk).to(self.device)).cpu().numpy()


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


def _torch_checkpoint(config: ClassifierConfig, bundle: Bundle) -> Path:
    if config.checkpoint:
        return Path(config.checkpoint)
    source = bundle.metadata.get("training", {}).get("source_checkpoint")
    if not source:
        raise ConfigError("backend torch needs classifier.checkpoint (a training .pt file); "
                          f"bundle {bundle.path} names no training.source_checkpoint")
    return Path(source)


def select_backend(config: ClassifierConfig, bundle: Bundle) -> ClassifierBackend:
    """The backend ``config`` asks for; ``auto``: TensorRT, ORT CUDA, then ORT CPU."""
    kind, device = config.backend, config.device
    if kind == "onnxruntime":
        ort_device = "cuda" if device == "cuda" else "cpu"
        log.info("classifier backend onnxruntime-%s (configured)", ort_device)
        return OnnxRuntimeBackend(bundle, ort_device, config.threads, config.max_batch)
    if kind == "torch":
        log.info("classifier backend torch (configured)")
        return TorchBackend(bundle, _torch_checkpoint(config, bundle), device,
                            config.threads, config.max_batch)
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
