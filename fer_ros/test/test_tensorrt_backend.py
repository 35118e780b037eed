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
