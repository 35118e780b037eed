"""TensorRT engines for the emotion classifier: build, cache, check, run (TensorRT 10 API).

    fer-ros build-engine --model fer_ros/models/ferplus --precision fp16 --max-batch 16

An engine is tied to one GPU model, one TensorRT version and one network file, so
each engine file has a metadata JSON beside it (GPU name, compute capability,
TensorRT version, precision, max batch, SHA-256 of the ONNX and of the engine).
Before an engine is loaded its metadata is compared with the running system and
the bundle; anything stale is rebuilt, never loaded. ``fer-ros build-engine`` and
the runtime's build-on-first-use go through the same :func:`load_or_build`.

NOT VERIFIED HERE: TensorRT cannot be installed on the development machine (no
GPU; NVIDIA's package index is unreachable). The code follows the documented
TensorRT 10 Python API (JetPack 6); the cache and staleness logic is plain Python
and tested. Device memory goes through cuda-python (``cuda.bindings.runtime``).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from fer_ros.core.backend import ClassifierBackend, check_batch
from fer_ros.core.bundle import file_sha256
from fer_ros.core.errors import ModelError

log = logging.getLogger(__name__)

PRECISIONS = ("fp16", "int8", "fp32")
ENGINE_FORMAT = 1
# Fields that must match the running system and the bundle for an engine to be reused.
KEY_FIELDS = ("engine_format", "tensorrt_version", "gpu_name", "compute_capability",
              "precision", "onnx_sha256", "max_batch")


def _import_cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        from cuda import cudart  # older cuda-python
    return cudart


def _cuda_call(cudart, result, what: str):
    """cuda-python returns (error, value...); raise ModelError unless cudaSuccess."""
    err = result[0] if isinstance(result, tuple) else result
    if err != cudart.cudaError_t.cudaSuccess:
        raise ModelError(f"CUDA {what} failed: {cudart.cudaGetErrorString(err)[1]!r}")
    values = result[1:] if isinstance(result, tuple) else ()
    return values[0] if len(values) == 1 else values


def strongly_typed_only() -> bool:
    """TensorRT 11 removed BuilderFlag.FP16/INT8: every network is strongly typed, its
    precision is the ONNX file's own (an fp16 ONNX for fp16, Q/DQ nodes for int8)."""
    import tensorrt as trt
    return not hasattr(trt.BuilderFlag, "FP16")


def network_for(bundle, precision: str):
    """(bundle view on the network TensorRT builds from, engine precision).

    TensorRT 10 (JetPack 6) builds fp16 from the fp32 network with the FP16 flag.
    TensorRT 11 builds strongly typed networks only: fp16 there needs the bundle's fp16
    network (an fp16 ONNX, e.g. from ModelOpt AutoCast with keep_io_types), and without
    one it builds the fp32 network as fp32 (logged) instead of failing."""
    if precision == "int8":
        return bundle.with_precision("int8"), "int8"
    if precision == "fp16" and strongly_typed_only():
        if bundle.has("fp16"):
            return bundle.with_precision("fp16"), "fp32"  # types come from the network
        log.warning("TensorRT builds strongly typed networks only and bundle %s has no fp16 "
                    "network: building the fp32 network as fp32", bundle.path)
        return bundle.with_precision("fp32"), "fp32"
    return bundle.with_precision("fp32"), precision


def cache_folder(bundle_dir: str | Path, cache_dir: str | Path | None = None) -> Path:
    """Where engines of a bundle go: ``cache_dir``, else the bundle folder when writable,
    else ~/.cache/fer_ros/engines/<bundle dir name> (an installed, read-only bundle)."""
    folder = Path(cache_dir) if cache_dir else Path(bundle_dir)
    if not cache_dir and not os.access(folder, os.W_OK):
        folder = Path.home() / ".cache" / "fer_ros" / "engines" / Path(bundle_dir).name
    return folder


def ort_tensorrt_options(bundle, precision: str, max_batch: int,
                         cache_dir: str | Path | None = None) -> dict:
    """Provider options of ONNX Runtime's TensorrtExecutionProvider (documented names):
    precision, engine and timing caches (the build happens once), and an optimisation
    profile for 1..max_batch faces, so a new face count does not rebuild the engine.
    The caches go in an ``onnxruntime-trt`` sub-folder: never installed with a bundle."""
    folder = cache_folder(bundle.path, cache_dir) / "onnxruntime-trt"
    folder.mkdir(parents=True, exist_ok=True)
    spec = bundle.input_spec

    def shape(batch: int) -> str:
        return f"{bundle.input_name}:{batch}x{spec.channels}x{spec.size}x{spec.size}"

    return {"trt_fp16_enable": precision == "fp16", "trt_int8_enable": precision == "int8",
            "trt_engine_cache_enable": True, "trt_engine_cache_path": str(folder),
            "trt_timing_cache_enable": True, "trt_timing_cache_path": str(folder),
            "trt_max_workspace_size": 1 << 30,
            "trt_profile_min_shapes": shape(1),
            "trt_profile_opt_shapes": shape(min(4, max_batch)),
            "trt_profile_max_shapes": shape(max_batch)}


def tensorrt_available() -> tuple[bool, str]:
    """(True, version) when tensorrt, cuda-python and a CUDA GPU are usable, else (False, why)."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        return False, (f"the tensorrt Python package is not importable ({exc}); JetPack ships "
                       "it (python3-libnvinfer), on x86 pip install tensorrt-cu12")
    try:
        cudart = _import_cudart()
    except ImportError as exc:
        return False, (f"cuda-python is not installed ({exc}); pip install -r "
                       "requirements-gpu.txt (cuda-python 12.x for JetPack 6 / CUDA 12)")
    count = cudart.cudaGetDeviceCount()
    if count[0] != cudart.cudaError_t.cudaSuccess or count[1] < 1:
        return False, f"no usable CUDA GPU ({count[0]})"
    return True, f"TensorRT {trt.__version__}"


def runtime_environment() -> dict:
    """What an engine is tied to: TensorRT version, GPU name and compute capability."""
    import tensorrt as trt
    cudart = _import_cudart()
    device = _cuda_call(cudart, cudart.cudaGetDevice(), "cudaGetDevice")
    props = _cuda_call(cudart, cudart.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = props.name.decode(errors="replace") if isinstance(props.name, bytes) else props.name
    return {"tensorrt_version": trt.__version__, "gpu_name": name.strip("\x00 "),
            "compute_capability": f"{props.major}.{props.minor}"}


def engine_key(env: dict, precision: str, onnx_sha256: str, max_batch: int) -> dict:
    """The identity an engine must have to be reused on this system for this network."""
    if precision not in PRECISIONS:
        raise ModelError(f"TensorRT precision must be one of {PRECISIONS}, got {precision!r}")
    if not 1 <= int(max_batch) <= 1024:
        raise ModelError(f"max_batch must be 1..1024, got {max_batch}")
    return {"engine_format": ENGINE_FORMAT, "tensorrt_version": env["tensorrt_version"],
            "gpu_name": env["gpu_name"], "compute_capability": env["compute_capability"],
            "precision": precision, "onnx_sha256": onnx_sha256, "max_batch": int(max_batch)}


def staleness(stored: dict, expected: dict) -> str | None:
    """None when ``stored`` engine metadata fits ``expected``, else why it is stale."""
    changed = [f"{k} {stored.get(k)!r} -> {expected[k]!r}" for k in KEY_FIELDS
               if stored.get(k) != expected[k]]
    return "; ".join(changed) or None


def engine_paths(onnx_path: str | Path, precision: str, max_batch: int,
                 cache_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(engine, metadata) paths: next to the ONNX file unless ``cache_dir`` is given.

    A bundle installed read-only (share/fer_ros/models) falls back to
    ~/.cache/fer_ros/engines/<bundle dir name>.
    """
    onnx_path = Path(onnx_path)
    folder = cache_folder(onnx_path.parent, cache_dir)
    engine = folder / f"{onnx_path.stem}.{precision}.b{int(max_batch)}.engine"
    return engine, engine.with_name(engine.name + ".json")


def check_cached_engine(engine_path: Path, meta_path: Path, expected: dict) -> tuple[bool, str]:
    """(True, "") when the cached engine may be loaded, else (False, why it must be rebuilt)."""
    if not engine_path.is_file() or not meta_path.is_file():
        return False, f"no cached engine at {engine_path}"
    try:
        stored = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return False, f"engine metadata {meta_path} unreadable ({exc})"
    if not isinstance(stored, dict):
        return False, f"engine metadata {meta_path} is not a JSON object"
    reason = staleness(stored, expected)
    if reason:
        return False, f"cached engine {engine_path} is stale: {reason}"
    if stored.get("engine_sha256") != file_sha256(engine_path):
        return False, f"engine file {engine_path} does not match its metadata (corrupt or replaced)"
    return True, ""


def int8_ready(onnx_path: str | Path) -> tuple[bool, str]:
    """INT8 engines need explicit quantisation: a network quantised with symmetric int8
    activations (``fer-ros quantize --activations int8``); checked from model.json (the
    ``networks`` entry of this file, or the top level of an old single-network bundle)."""
    onnx_path = Path(onnx_path)
    meta_path = onnx_path.parent / "model.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError):
        return False, f"{meta_path} missing or unreadable; int8 needs a quantised bundle"
    entries = [e for e in (meta.get("networks") or {}).values()
               if isinstance(e, dict) and e.get("file") == onnx_path.name]
    quant = (entries[0] if entries else meta).get("quantization") or {}
    if quant.get("activations") != "int8":
        return False, (f"{onnx_path} is not quantised with int8 activations; run `fer-ros "
                       "quantize BUNDLE --activations int8` and build from its int8 network")
    return True, ""


def _set_precision(trt, config, precision: str, onnx_path: Path) -> None:
    """TensorRT 10: precision flags. TensorRT 11 (no BuilderFlag.FP16/INT8) is strongly
    typed: the network's own types and Q/DQ nodes decide, nothing to set."""
    flags = trt.BuilderFlag
    if precision == "int8":
        ready, reason = int8_ready(onnx_path)
        if not ready:
            raise ModelError(reason)
        if hasattr(flags, "INT8"):  # TensorRT 10: Q/DQ layers need the flag
            config.set_flag(flags.INT8)
        if hasattr(flags, "FP16"):  # layers left in float may run in fp16
            config.set_flag(flags.FP16)
    elif precision == "fp16":
        if not hasattr(flags, "FP16"):
            raise ModelError(f"TensorRT {trt.__version__} builds strongly typed networks only: "
                             "fp16 needs the bundle's fp16 network (networks.fp16); build "
                             "that network with --precision fp32, or use TensorRT 10.x")
        config.set_flag(flags.FP16)


def _parse_onnx(trt, builder, logger, onnx_path: Path):
    major = int(trt.__version__.split(".")[0])
    # TensorRT 10+: always explicit batch; 8.5/8.6 (JetPack 5) must ask for it. TensorRT 11
    # is always strongly typed (the flag is accepted and ignored there).
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"TensorRT cannot parse {onnx_path}: {errors}; re-export the bundle")
    if network.num_inputs != 1 or network.num_outputs != 1:
        raise ModelError(f"{onnx_path}: expected 1 input and 1 output, got "
                         f"{network.num_inputs} and {network.num_outputs}")
    return network, parser


def build_engine(onnx_path: str | Path, out_path: str | Path, precision: str = "fp16",
                 max_batch: int = 16, workspace_mb: int = 1024) -> dict:
    """ONNX -> serialized engine at ``out_path`` + metadata JSON beside it; returns it."""
    import tensorrt as trt
    onnx_path, out_path = Path(onnx_path), Path(out_path)
    key = engine_key(runtime_environment(), precision, file_sha256(onnx_path), max_batch)
    start = time.perf_counter()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network, _parser = _parse_onnx(trt, builder, logger, onnx_path)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    _set_precision(trt, config, precision, onnx_path)
    inp, out = network.get_input(0), network.get_output(0)
    chw = tuple(inp.shape)[1:]
    profile = builder.create_optimization_profile()
    # batch 1..max faces; tuned for a few faces, the usual HRI frame.
    profile.set_shape(inp.name, (1, *chw), (min(4, max_batch), *chw), (max_batch, *chw))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelError(f"TensorRT failed to build an engine from {onnx_path} "
                         f"({precision}, max batch {max_batch}); see the TensorRT log above")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out_path, bytes(serialized))
    meta = {**key, "workspace_mb": int(workspace_mb), "onnx_path": str(onnx_path),
            "input_name": inp.name, "input_shape": list(chw), "output_name": out.name,
            "engine_sha256": file_sha256(out_path), "build_seconds": time.perf_counter() - start,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    meta_path = out_path.with_name(out_path.name + ".json")
    write_atomically(meta_path, (json.dumps(meta, indent=2) + "\n").encode())
    return meta


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a uniquely named temporary file beside ``path``, then rename it:
    two processes building the same engine at once never write into one file, and a
    reader sees the old file or the whole new one."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_build(onnx_path: str | Path, precision: str = "fp16", max_batch: int = 16,
                  workspace_mb: int = 1024, cache_dir: str | Path | None = None,
                  rebuild: bool = False) -> tuple[Path, dict, bool]:
    """The cached engine if it fits this system and network, else a fresh build.

    Returns (engine path, metadata, built_now).
    """
    onnx_path = Path(onnx_path)
    expected = engine_key(runtime_environment(), precision, file_sha256(onnx_path), max_batch)
    engine_path, meta_path = engine_paths(onnx_path, precision, max_batch, cache_dir)
    fresh, reason = check_cached_engine(engine_path, meta_path, expected)
    if fresh and not rebuild:
        return engine_path, json.loads(meta_path.read_text()), False
    log.warning("building TensorRT engine (%s); this takes minutes once per GPU and model",
                "forced" if fresh else reason)
    return engine_path, build_engine(onnx_path, engine_path, precision, max_batch,
                                     workspace_mb), True


class TensorRTBackend(ClassifierBackend):
    """Runs a cached (or freshly built) TensorRT engine; float32 NCHW in, probabilities out."""

    def __init__(self, onnx_path: str | Path, max_batch: int = 16, precision: str = "fp16",
                 cache_dir: str | Path | None = None, workspace_mb: int = 1024) -> None:
        import tensorrt as trt
        self.engine_path, self.metadata, _ = load_or_build(onnx_path, precision, max_batch,
                                                           workspace_mb, cache_dir)
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
        if self.engine is None:
            raise ModelError(f"TensorRT could not load {self.engine_path}; delete it to rebuild")
        self.context = self.engine.create_execution_context()
        self.input_name = self.metadata["input_name"]
        self.output_name = self.metadata["output_name"]
        self.channels, self.size = self.metadata["input_shape"][0], self.metadata["input_shape"][1]
        self.num_classes = int(self.engine.get_tensor_shape(self.output_name)[-1])
        self.max_batch = int(max_batch)
        self.name = f"tensorrt-{precision}"
        # infer() and close() may come from different threads (the node's worker and its
        # shutdown): device buffers are freed only between inferences
        self._lock = threading.Lock()
        self._allocate()

    def _allocate(self) -> None:
        cudart = self._cudart = _import_cudart()
        in_bytes = self.max_batch * self.channels * self.size * self.size * 4
        out_bytes = self.max_batch * self.num_classes * 4
        self._stream = _cuda_call(cudart, cudart.cudaStreamCreate(), "cudaStreamCreate")
        self._d_in = _cuda_call(cudart, cudart.cudaMalloc(in_bytes), "cudaMalloc")
        self._d_out = _cuda_call(cudart, cudart.cudaMalloc(out_bytes), "cudaMalloc")
        self.context.set_tensor_address(self.input_name, int(self._d_in))
        self.context.set_tensor_address(self.output_name, int(self._d_out))

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        cudart, stream = self._cudart, self._stream
        kinds = cudart.cudaMemcpyKind
        result = np.empty((len(chunk), self.num_classes), np.float32)
        self.context.set_input_shape(self.input_name, chunk.shape)
        _cuda_call(cudart, cudart.cudaMemcpyAsync(self._d_in, chunk.ctypes.data, chunk.nbytes,
                                                  kinds.cudaMemcpyHostToDevice, stream), "copy")
        if not self.context.execute_async_v3(int(stream)):
            raise ModelError(f"TensorRT execution failed for {self.engine_path}")
        _cuda_call(cudart, cudart.cudaMemcpyAsync(result.ctypes.data, self._d_out, result.nbytes,
                                                  kinds.cudaMemcpyDeviceToHost, stream), "copy")
        _cuda_call(cudart, cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize")
        return result

    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = check_batch(batch, self.channels, self.size)
        with self._lock:
            if self._cudart is None:
                raise ModelError(f"TensorRT backend for {self.engine_path} is closed")
            parts = [self._run(batch[i:i + self.max_batch])
                     for i in range(0, len(batch), self.max_batch)]
        return np.concatenate(parts) if parts else np.zeros((0, self.num_classes), np.float32)

    def close(self) -> None:
        with self._lock:  # waits for a running inference
            cudart, self._cudart = getattr(self, "_cudart", None), None
            if cudart is None:
                return
            for pointer in (self._d_in, self._d_out):
                cudart.cudaFree(pointer)
            cudart.cudaStreamDestroy(self._stream)
