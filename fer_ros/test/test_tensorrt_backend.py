"""TensorRT engine cache: keys, staleness and the int8 precondition (plain Python, tested
here); engine build and inference (need TensorRT and a GPU, skipped here with the reason)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fer_ros.core.errors import ModelError
from fer_ros.core.tensorrt_backend import (KEY_FIELDS, check_cached_engine, engine_key,
                                           engine_paths, int8_ready, staleness,
                                           tensorrt_available)

SKIP_REASON = ("TensorRT is not installable on this machine (PyPI tensorrt packages download "
               "from NVIDIA's index, unreachable; no GPU)")
needs_tensorrt = pytest.mark.skipif(not tensorrt_available()[0], reason=SKIP_REASON)

ORIN = {"tensorrt_version": "10.3.0", "gpu_name": "Orin", "compute_capability": "8.7"}


@pytest.fixture()
def cached(tmp_path, default_bundle):
    """An engine file and its metadata as build_engine writes them, for the real network."""
    from fer_ros.core.bundle import file_sha256
    onnx_path = default_bundle.network_path
    key = engine_key(ORIN, "fp16", file_sha256(onnx_path), 16)
    engine, meta = engine_paths(onnx_path, "fp16", 16, cache_dir=tmp_path)
    engine.write_bytes(b"serialized engine bytes")
    meta.write_text(json.dumps({**key, "engine_sha256": file_sha256(engine)}))
    return engine, meta, key


def test_engine_key_names_everything_an_engine_depends_on(default_bundle):
    from fer_ros.core.bundle import file_sha256
    sha = file_sha256(default_bundle.network_path)
    assert sha == default_bundle.metadata["network_sha256"]
    key = engine_key(ORIN, "int8", sha, 8)
    assert set(key) == set(KEY_FIELDS)
    assert (key["gpu_name"], key["compute_capability"], key["tensorrt_version"],
            key["precision"], key["onnx_sha256"], key["max_batch"]) == (
        "Orin", "8.7", "10.3.0", "int8", sha, 8)


@pytest.mark.parametrize("precision, max_batch, message", [
    ("fp8", 16, "precision must be one of"), ("fp16", 0, "max_batch must be 1..1024")])
def test_engine_key_rejects_bad_settings(precision, max_batch, message):
    with pytest.raises(ModelError, match=message):
        engine_key(ORIN, precision, "0" * 64, max_batch)


@pytest.mark.parametrize("field, value", [
    ("tensorrt_version", "10.7.0"), ("gpu_name", "NVIDIA GeForce RTX 4090"),
    ("compute_capability", "8.9"), ("precision", "fp32"), ("onnx_sha256", "f" * 64),
    ("max_batch", 32), ("engine_format", 2)])
def test_any_changed_key_field_makes_the_engine_stale(field, value):
    stored = engine_key(ORIN, "fp16", "a" * 64, 16)
    expected = {**stored, field: value}
    assert staleness(stored, stored) is None
    reason = staleness(stored, expected)
    assert reason is not None and field in reason and repr(value) in reason


def test_fresh_cache_is_accepted(cached):
    engine, meta, key = cached
    assert engine.name == "model.fp16.b16.engine" and meta.name == "model.fp16.b16.engine.json"
    assert check_cached_engine(engine, meta, key) == (True, "")


def test_cache_is_rebuilt_after_a_tensorrt_upgrade(cached):
    engine, meta, key = cached
    fresh, reason = check_cached_engine(engine, meta, {**key, "tensorrt_version": "10.7.0"})
    assert not fresh and "stale" in reason and "'10.3.0' -> '10.7.0'" in reason


def test_cache_is_rebuilt_when_the_network_changes(cached):
    engine, meta, key = cached
    fresh, reason = check_cached_engine(engine, meta, {**key, "onnx_sha256": "0" * 64})
    assert not fresh and "onnx_sha256" in reason


def test_corrupt_or_missing_cache_is_never_loaded(cached):
    engine, meta, key = cached
    engine.write_bytes(b"truncated")
    assert check_cached_engine(engine, meta, key) == (
        False, f"engine file {engine} does not match its metadata (corrupt or replaced)")
    meta.write_text("{not json")
    fresh, reason = check_cached_engine(engine, meta, key)
    assert not fresh and "unreadable" in reason
    meta.unlink()
    assert check_cached_engine(engine, meta, key) == (False, f"no cached engine at {engine}")


def test_engines_go_beside_the_model_by_default(default_bundle):
    engine, meta = engine_paths(default_bundle.network_path, "int8", 4)
    assert engine.parent == default_bundle.path and engine.name == "model.int8.b4.engine"


def test_int8_needs_a_bundle_with_symmetric_int8_activations(tmp_path, default_bundle):
    ready, reason = int8_ready(default_bundle.network_path)  # the fp32 default bundle
    assert not ready and "--activations int8" in reason
    meta = {"precision": "int8", "quantization": {"activations": "uint8"}}
    (tmp_path / "model.json").write_text(json.dumps(meta))
    assert not int8_ready(tmp_path / "model.onnx")[0]
    meta["quantization"]["activations"] = "int8"
    (tmp_path / "model.json").write_text(json.dumps(meta))
    assert int8_ready(tmp_path / "model.onnx") == (True, "")


def test_unavailable_tensorrt_is_reported_with_a_reason():
    available, reason = tensorrt_available()
    if available:
        pytest.skip(f"TensorRT is available here ({reason})")
    assert "tensorrt" in reason.lower() or "cuda" in reason.lower()


def test_build_engine_cli_fails_cleanly_without_tensorrt(default_bundle, capsys):
    from fer_ros.cli import main
    if tensorrt_available()[0]:
        pytest.skip("TensorRT is available here")
    assert main(["build-engine", "--model", str(default_bundle.path)]) == 1
    assert "fer-ros build-engine: error:" in capsys.readouterr().err


@needs_tensorrt
def test_tensorrt_matches_onnxruntime_on_real_faces(default_bundle, tmp_path):
    from fer_ros.core.classify import OnnxRuntimeBackend
    from fer_ros.core.tensorrt_backend import TensorRTBackend, load_or_build
    from fer_ros.training.export import DEFAULT_DATA, faces_to_batch, sample_fer2013
    faces, _ = sample_fer2013(DEFAULT_DATA, "PublicTest", 64)
    x = faces_to_batch(faces, default_bundle.input_spec)
    backend = TensorRTBackend(default_bundle.network_path, max_batch=16, precision="fp16",
                              cache_dir=tmp_path)
    try:
        got = backend.infer(x)
    finally:
        backend.close()
    want = OnnxRuntimeBackend(default_bundle, threads=2).infer(x)
    assert np.abs(got - want).max() < 1e-2
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.98
    _, _, built = load_or_build(default_bundle.network_path, "fp16", 16, cache_dir=tmp_path)
    assert not built, "a fresh cached engine was rebuilt"


def test_int8_engines_take_the_bundle_int8_network_only_with_int8_activations(default_bundle):
    int8 = default_bundle.with_precision("int8")  # the shipped one: uint8 activations
    ready, reason = int8_ready(int8.network_path)
    assert not ready and "--activations int8" in reason


def test_concurrent_engine_writes_never_share_a_temporary_file(tmp_path):
    import threading
    from fer_ros.core.tensorrt_backend import write_atomically
    target = tmp_path / "model.fp16.b16.engine"
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    threads = [threading.Thread(target=write_atomically, args=(target, p)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_bytes() in payloads, "two writers mixed their bytes in one file"
    assert list(tmp_path.iterdir()) == [target], "temporary files left behind"


class FakeCudart:
    """Stands in for cuda-python (no GPU here): records frees, lets _run block."""

    class cudaError_t:  # noqa: N801 - cuda-python's name
        cudaSuccess = 0

    def __init__(self):
        self.freed = []

    def cudaFree(self, pointer):  # noqa: N802
        self.freed.append(pointer)
        return (0,)

    def cudaStreamDestroy(self, stream):  # noqa: N802
        return (0,)


def test_close_waits_for_a_running_inference():
    import threading
    import time
    from fer_ros.core.tensorrt_backend import TensorRTBackend
    backend = TensorRTBackend.__new__(TensorRTBackend)  # no TensorRT here: the fields only
    backend._lock, backend._cudart = threading.Lock(), FakeCudart()
    backend._d_in, backend._d_out, backend._stream = 1, 2, 3
    backend.channels, backend.size, backend.max_batch, backend.num_classes = 1, 8, 4, 7
    backend.engine_path = "test.engine"
    events = []

    def run(chunk):  # an inference that takes a while on the "GPU"
        events.append("start")
        time.sleep(0.3)
        events.append("end" if not backend._cudart.freed else "freed during inference")
        return np.zeros((len(chunk), 7), np.float32)

    backend._run = run
    cudart = backend._cudart
    worker = threading.Thread(target=backend.infer, args=(np.zeros((2, 1, 8, 8), np.float32),))
    worker.start()
    while not events:
        time.sleep(0.01)
    backend.close()  # from another thread, mid-inference
    worker.join()
    assert events == ["start", "end"] and cudart.freed == [1, 2]
    with pytest.raises(ModelError, match="is closed"):
        backend.infer(np.zeros((1, 1, 8, 8), np.float32))
    backend.close()  # twice is fine


@pytest.mark.parametrize("strongly_typed, has_fp16, expected", [
    (False, False, ("fp32", "fp16")),  # TensorRT 10: FP16 flag on the fp32 network
    (True, True, ("fp16", "fp32")),    # TensorRT 11: the fp16 network, its own types
    (True, False, ("fp32", "fp32")),   # TensorRT 11 without one: fp32, not a failure
])
def test_fp16_network_follows_the_tensorrt_version(monkeypatch, tmp_path, default_bundle,
                                                   strongly_typed, has_fp16, expected):
    import shutil
    from fer_ros.core import tensorrt_backend
    from fer_ros.core.bundle import load_bundle
    bundle = default_bundle
    if has_fp16:  # a bundle with an fp16 entry (the fp32 file stands in for its bytes)
        copy = tmp_path / "b"
        shutil.copytree(default_bundle.path, copy)
        meta = json.loads((copy / "model.json").read_text())
        shutil.copy(copy / "model.onnx", copy / "model.fp16.onnx")
        meta["networks"]["fp16"] = {"file": "model.fp16.onnx"}
        (copy / "model.json").write_text(json.dumps(meta))
        bundle = load_bundle(copy)
    monkeypatch.setattr(tensorrt_backend, "strongly_typed_only", lambda: strongly_typed)
    network, precision = tensorrt_backend.network_for(bundle, "fp16")
    assert (network.precision, precision) == expected


def test_onnxruntime_tensorrt_provider_gets_caches_precision_and_profiles(tmp_path,
                                                                          default_bundle):
    from fer_ros.core.tensorrt_backend import ort_tensorrt_options
    options = ort_tensorrt_options(default_bundle, "fp16", 8, cache_dir=tmp_path)
    assert options["trt_fp16_enable"] and not options["trt_int8_enable"]
    assert options["trt_engine_cache_enable"] and options["trt_timing_cache_enable"]
    assert options["trt_engine_cache_path"] == str(tmp_path / "onnxruntime-trt")
    assert (tmp_path / "onnxruntime-trt").is_dir()
    assert options["trt_profile_min_shapes"] == "input:1x1x64x64"
    assert options["trt_profile_opt_shapes"] == "input:4x1x64x64"
    assert options["trt_profile_max_shapes"] == "input:8x1x64x64"


def test_engines_built_in_the_source_tree_are_not_installed(tmp_path, repo_root):
    """setup.py's data_files, evaluated in a copy of the package with a built engine."""
    import runpy
    import shutil
    import setuptools
    package = tmp_path / "fer_ros"
    (package / "models" / "default").mkdir(parents=True)
    shutil.copy(repo_root / "fer_ros" / "setup.py", package / "setup.py")
    for name in ("model.onnx", "model.json", "model.fp16.b16.engine",
                 "model.fp16.b16.engine.json", "model.onnx.abc.tmp"):
        (package / "models" / "default" / name).write_text("x")
    captured = {}
    original = setuptools.setup
    setuptools.setup = lambda **kw: captured.update(kw)
    try:
        runpy.run_path(str(package / "setup.py"))
    finally:
        setuptools.setup = original
    installed = [f for dest, files in captured["data_files"] if dest.endswith("models/default")
                 for f in files]
    assert sorted(installed) == ["models/default/model.json", "models/default/model.onnx"]
