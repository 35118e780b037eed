"""`fer-ros quantize`: the default bundle -> INT8, checked on real FER2013 faces.

Calibration uses real Training faces, accuracy is compared on real PublicTest
faces; the refusal path is exercised with a threshold no model can meet.
"""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from training_helpers import FER2013_CSV, needs_shared

pytestmark = [pytest.mark.shared_data, pytest.mark.slow, needs_shared(FER2013_CSV)]
VAL_FACES = 500


@pytest.fixture(scope="module")
def int8_bundle(default_bundle, tmp_path_factory):
    from fer_ros.training.quantize import quantize_bundle
    out = tmp_path_factory.mktemp("int8") / "bundle"
    report = quantize_bundle(default_bundle.path, out, data=FER2013_CSV, calib_faces=128,
                             val_faces=VAL_FACES, max_drop=1.0, threads=1, runs=3)
    return out, report


def test_int8_accuracy_within_threshold_on_real_faces(int8_bundle):
    _, report = int8_bundle
    assert report["written"] and report["val_faces"] == VAL_FACES
    assert report["accuracy_drop_points"] <= 1.0, (
        f"int8 lost {report['accuracy_drop_points']:.2f} points on {VAL_FACES} PublicTest faces")
    assert report["int8_accuracy"] > 1 / 7, "int8 model no better than chance"
    for batch in (1, 8):
        assert report[f"fp32_batch{batch}_ms"] > 0 and report[f"int8_batch{batch}_ms"] > 0


def test_int8_network_joins_the_bundle_and_classifies_real_faces(int8_bundle, default_bundle):
    from fer_ros.core.bundle import file_sha256, load_bundle
    from fer_ros.core.classify import OnnxRuntimeBackend
    from fer_ros.training.export import faces_to_batch, sample_fer2013
    out, report = int8_bundle
    meta = json.loads((out / "model.json").read_text())
    # one bundle, one model.json: fp32 stays the top-level network old readers load
    assert meta["precision"] == "fp32" and meta["format_version"] == 1
    assert meta["network"] == "model.onnx"
    assert file_sha256(out / "model.onnx") == file_sha256(default_bundle.path / "model.onnx")
    entry = meta["networks"]["int8"]
    assert entry["file"] == "model.int8.onnx"
    assert entry["sha256"] == file_sha256(out / "model.int8.onnx")
    dataset = default_bundle.metadata["training"]["dataset"]  # measured on its own labels
    assert entry["quantization"]["calibration"] == {"dataset": dataset, "split": "Training",
                                                    "faces": 128}
    assert entry["metrics"][f"{dataset}_publictest_accuracy"] == report["int8_accuracy"]
    assert meta["networks"]["fp32"]["file"] == "model.onnx"
    ops = {node.op_type for node in onnx.load(str(out / "model.int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops, "network is not quantised"
    bundle = load_bundle(out)
    assert set(bundle.networks) == {"fp32", "int8"}
    int8 = OnnxRuntimeBackend(bundle.with_precision("int8"), threads=1)
    fp32 = OnnxRuntimeBackend(bundle.with_precision("fp32"), threads=1)
    faces, _ = sample_fer2013(FER2013_CSV, "PublicTest", 64)
    x = faces_to_batch(faces, bundle.input_spec)
    p8, p32 = int8.infer(x), fp32.infer(x)
    assert np.allclose(p8.sum(1), 1.0, atol=1e-4)
    agreement = (p8.argmax(1) == p32.argmax(1)).mean()
    assert agreement >= 0.9, f"int8 and fp32 agree on only {agreement:.0%} of 64 real faces"


def test_quantize_refuses_a_drop_above_the_threshold(default_bundle, tmp_path):
    from fer_ros.cli import main
    out = tmp_path / "refused"
    code = main(["quantize", "--model", str(default_bundle.path), str(out), "--data", str(FER2013_CSV),
                 "--calib-faces", "64", "--val-faces", "100", "--runs", "2", "--threads", "1",
                 "--max-drop", "-100"])  # demands int8 be 100 points better: always refused
    assert code == 3, "quantize must exit 3 (refused) when the accuracy drop exceeds --max-drop"
    assert not (out / "model.json").exists() and not (out / "model.onnx").exists()


def test_quantize_in_place_adds_int8_beside_fp32(int8_bundle, tmp_path):
    """`fer-ros quantize BUNDLE` (no OUT_DIR) re-quantises in place; fp32 is untouched."""
    from fer_ros.cli import main
    from fer_ros.core.bundle import file_sha256, load_bundle
    out, _ = int8_bundle
    fp32_before = file_sha256(out / "model.onnx")
    code = main(["quantize", "--model", str(out), "--data", str(FER2013_CSV), "--calib-faces", "64",
                 "--val-faces", "100", "--runs", "2", "--threads", "1", "--force"])
    assert code == 0
    bundle = load_bundle(out)  # verifies both SHA-256s
    assert set(bundle.networks) == {"fp32", "int8"}
    assert file_sha256(out / "model.onnx") == fp32_before
    assert bundle.networks["int8"].info["quantization"]["calibration"]["faces"] == 64
