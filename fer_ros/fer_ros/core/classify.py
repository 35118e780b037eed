"""Emotion classification backends (ONNX Runtime) and the ``auto`` selection.

    backend = select_backend(config.classifier, bundle)   # logs what it chose and why
    probs = backend.infer(batch)                           # (N, C, H, W) -> (N, K)

``TensorRTBackend`` lives in :mod:`fer_ros.core.tensorrt_backend` and is imported
only when asked for (or tried by ``auto``); ``torch`` is a plugin backend
(:mod:`fer_ros.training.torch_backend`), so neither TensorRT nor torch is needed
to run on CPU.
"""
from __future__ import annotations

import importlib.util
import logging
import threading

import numpy as np

from fer_ros.core.backend import (ClassifierBackend, check_batch, plugin_backend, run_chunked,
                                  softmax)
from fer_ros.core.bundle import Bundle
from fer_ros.core.config import ClassifierConfig
from fer_ros.core.cpu_features import x86_without_vnni
from fer_ros.core.errors import ConfigError, FerError, ModelError
from fer_ros.core.ort_session import ort_session

log = logging.getLogger(__name__)

ORT_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def mirror_averaged(infer, batch: np.ndarray) -> np.ndarray:
    """Flip test-time augmentation: the mean of ``infer`` on the faces and on their mirror
    images (one call on both). The one implementation for the runtime (``classifier.tta:
    flip``) and ``fer-ros evaluate --tta flip``, so their figures describe the same thing."""
    if not len(batch):
        return infer(batch)
    both = infer(np.concatenate([batch, batch[..., ::-1]]))
    return (both[:len(batch)] + both[len(batch):]) / 2


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
                 max_batch: int = 16, tensorrt: dict | None = None) -> None:
        super().__init__(bundle, max_batch)
        import onnxruntime as ort

        if device not in ORT_PROVIDERS:
            raise ConfigError(f"onnxruntime device must be one of {list(ORT_PROVIDERS)}, "
                              f"got {device!r}")
        wanted = list(ORT_PROVIDERS[device])
        if device == "tensorrt":  # engine/timing caches, precision, batch profile
            wanted[0] = (wanted[0], tensorrt or {})
        available = ort.get_available_providers()
        first = ORT_PROVIDERS[device][0]
        if first not in available:
            raise ModelError(f"onnxruntime has no {first} (available: {available}); "
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


def _try_tensorrt(config: ClassifierConfig, bundle: Bundle,
                  precision: str) -> tuple[ClassifierBackend | None, str]:
    """A TensorRT backend, or None and the reason it is not available.

    Any exception counts as "not available": a TensorRT or cuda-python binding that does
    not match the driver fails in ways no list of exception types foresees."""
    try:
        from fer_ros.core.tensorrt_backend import (TensorRTBackend, network_for,
                                                   tensorrt_available)
        available, reason = tensorrt_available()
    except Exception as exc:
        return None, f"TensorRT not usable ({type(exc).__name__}: {exc})"
    if not available:
        return None, reason
    try:
        network, engine_precision = network_for(bundle, precision)
        backend = TensorRTBackend(network.network_path, max_batch=config.max_batch,
                                  precision=engine_precision,
                                  cache_dir=config.engine_cache_dir or None)
    except Exception as exc:
        return None, (f"TensorRT engine could not be built or loaded "
                      f"({type(exc).__name__}: {exc})")
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


def choose_precision(config: ClassifierConfig, bundle: Bundle, gpu: bool) -> tuple[str, str]:
    """(network precision, why): ``auto`` is int8 on CPU when the bundle has it, else fp32;
    fp16 on a GPU (TensorRT) ."""
    if config.precision != "auto":
        return config.precision, f"precision {config.precision} configured"
    if gpu:
        return "fp16", "GPU: fp16"
    if bundle.has("int8"):
        info = bundle.networks["int8"].info
        if _saturates_here(info):
            return "fp32", ("CPU without VNNI and the bundle's INT8 network has full-range "
                            "weights, which overflow in ONNX Runtime's kernels there (accuracy "
                            f"loss); re-quantise with `fer-ros quantize --model {bundle.path}`")
        drop = info.get("metrics", {}).get("accuracy_drop_points")
        cost = f", {drop:.2f} accuracy points below fp32" if isinstance(drop, float) else ""
        return "int8", f"CPU and the bundle has an INT8 network{cost}"
    return "fp32", ("CPU, but the bundle has no INT8 network (add one with `fer-ros quantize "
                    f"{bundle.path}`)")


def _saturates_here(int8_info: dict) -> bool:
    """A U8S8 network with full 8-bit weights on an x86 CPU without VNNI (cpu_features)."""
    quantization = int8_info.get("quantization", {})
    return (quantization.get("activations", "uint8") == "uint8"
            and not quantization.get("reduce_range", False) and x86_without_vnni())


def _ort(bundle: Bundle, device: str, config: ClassifierConfig, gpu: bool,
         why: str) -> ClassifierBackend:
    precision, reason = choose_precision(config, bundle, gpu)
    if gpu and precision == "fp16" and not bundle.has("fp16"):
        precision, reason = "fp32", reason + " not in the bundle, fp32"
    backend = OnnxRuntimeBackend(bundle.with_precision(precision), device, config.threads,
                                 config.max_batch)
    log.info("classifier backend %s, %s network (%s; %s)", backend.name, precision, why, reason)
    return backend


def select_backend(config: ClassifierConfig, bundle: Bundle) -> ClassifierBackend:
    """The backend ``config`` asks for; ``auto``: TensorRT, ORT CUDA, then ORT CPU."""
    kind, device = config.backend, config.device
    if kind == "onnxruntime":
        ort_device = "cuda" if device == "cuda" else "cpu"
        return _ort(bundle, ort_device, config, ort_device == "cuda", "configured")
    plugin = plugin_backend(kind)
    if plugin is not None:
        log.info("classifier backend %s (configured)", kind)
        return plugin(config, bundle)
    if kind == "tensorrt":
        precision, why = choose_precision(config, bundle, gpu=True)
        backend, reason = _try_tensorrt(config, bundle, precision)
        if backend is None:
            raise ModelError(f"backend tensorrt requested but unavailable: {reason}; "
                             "use backend auto or onnxruntime")
        log.info("classifier backend %s (configured; %s)", backend.name, why)
        return backend
    if kind != "auto":
        raise ConfigError(f"unknown backend {kind!r}; valid: auto, onnxruntime, tensorrt, torch")
    return _select_auto(config, bundle)


def _tensorrt_installed() -> bool:
    return importlib.util.find_spec("tensorrt") is not None


def _select_auto(config: ClassifierConfig, bundle: Bundle) -> ClassifierBackend:
    """CPU: ONNX Runtime. GPU: ONNX Runtime (CUDA, else CPU) at once, and TensorRT built in
    the background and swapped in when ready: an engine build takes minutes on a Jetson
    and must not block start-up."""
    if config.device == "cpu":
        return _ort(bundle, "cpu", config, False, "auto: device is cpu")
    try:
        providers = _ort_providers()
    except Exception as exc:  # a broken onnxruntime-gpu install: CPU is still worth a try
        providers = [f"none ({exc})"]
    gpu_paths = [p for p in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
                 if p in providers]
    if _tensorrt_installed():
        gpu_paths.append("tensorrt")
    if not gpu_paths:
        return _ort(bundle, "cpu", config, False, "auto: no GPU backend (tensorrt not "
                    f"importable, onnxruntime providers {providers})")
    serving = None
    if "CUDAExecutionProvider" in providers:
        try:
            serving = _ort(bundle, "cuda", config, True, "auto: serving until TensorRT is ready")
        except Exception as exc:
            log.warning("onnxruntime CUDA failed (%s: %s); serving on CPU",
                        type(exc).__name__, exc)
    serving = serving or _ort(bundle, "cpu", config, False, "auto: serving until TensorRT "
                              "is ready")
    precision, _ = choose_precision(config, bundle, gpu=True)

    def build() -> ClassifierBackend:
        backend, reason = _try_tensorrt(config, bundle, precision)
        if backend is None and "TensorrtExecutionProvider" in providers:
            log.info("TensorRT backend unavailable (%s); trying the onnxruntime TensorRT "
                     "provider", reason)
            network = bundle.with_precision(precision if bundle.has(precision) else "fp32")
            return OnnxRuntimeBackend(network, "tensorrt",
                                      config.threads, config.max_batch,
                                      tensorrt=_ort_tensorrt_options(config, bundle, precision))
        if backend is None:
            raise ModelError(reason)
        return backend

    return UpgradingBackend(serving, build)


def _ort_tensorrt_options(config: ClassifierConfig, bundle: Bundle, precision: str) -> dict:
    from fer_ros.core.tensorrt_backend import ort_tensorrt_options
    return ort_tensorrt_options(bundle, precision, config.max_batch,
                                config.engine_cache_dir or None)


class UpgradingBackend(ClassifierBackend):
    """Serves with one backend while ``build()`` makes a better one in a thread, then swaps.

    A failed build (any exception) leaves the serving backend in place, with the reason
    logged. ``infer`` and the swap share a lock, so a backend is never closed mid-call."""

    def __init__(self, serving: ClassifierBackend, build) -> None:
        self._backend, self._lock = serving, threading.Lock()
        self.failure: str | None = None
        self._thread = threading.Thread(target=self._upgrade, args=(build,), daemon=True,
                                        name="fer_ros-gpu-backend")
        self._thread.start()

    @property
    def name(self) -> str:
        return self._backend.name

    @property
    def bundle(self):
        """The bundle view (which network) of the backend serving now."""
        return getattr(self._backend, "bundle", None)

    def wait(self, timeout: float | None = None) -> bool:
        """True once the background build has finished (either way)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _upgrade(self, build) -> None:
        try:
            better = build()
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            log.warning("classifier stays on %s (auto: GPU backend unavailable: %s)",
                        self._backend.name, self.failure)
            return
        with self._lock:
            old, self._backend = self._backend, better
        log.info("classifier backend %s (auto: GPU backend ready, replaces %s)",
                 better.name, old.name)
        old.close()

    def infer(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            return self._backend.infer(batch)

    def close(self) -> None:
        with self._lock:
            self._backend.close()
