"""`fer-ros export`: a really trained checkpoint becomes a bundle the runtime loads.

A session fixture trains a ResNet-18 for one epoch on 300 real FER2013 Training
faces (channels-last, bf16 autocast, like the real run), then exports it through
the CLI. The tests check the bundle against PyTorch on real PublicTest faces and
that broken bundles are refused with errors that say what is wrong.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from training_helpers import CKPLUS_DIR, FER2013_CSV, tiny_config, write_extract

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

torch = pytest.importorskip("torch")


@pytest.fixture(scope="session")
def fer_extract(tmp_path_factory) -> Path:
    if not FER2013_CSV.is_file():
        pytest.skip(f"FER2013 not found at {FER2013_CSV}")
    out = tmp_path_factory.mktemp("fer_extract")
    csv_path, _ = write_extract(out, {"Training": 300, "PublicTest": 128})
    return csv_path


@pytest.fixture(scope="session")
def trained_checkpoint(fer_extract, tmp_path_factory) -> Path:
    from fer_ros.training.train import train
    out = tmp_path_factory.mktemp("run")
    train(tiny_config(fer_extract, out, epochs=1, amp="bf16", channels_last=True))
    return out / "best.pt"


@pytest.fixture(scope="session")
def exported_bundle(trained_checkpoint, fer_extract, tmp_path_factory) -> Path:
    from fer_ros.cli import main
    out = tmp_path_factory.mktemp("bundle") / "tiny"
    code = main(["export", str(trained_checkpoint), str(out), "--name", "tiny_test",
                 "--version", "0.0.1", "--data", str(fer_extract), "--parity-faces", "64"])
    assert code == 0, "fer-ros export failed on a freshly trained checkpoint"
    return out


def _public_faces(fer_extract, spec, count=64):
    from fer_ros.training.export import faces_to_batch, sample_fer2013
    faces, labels = sample_fer2013(fer_extract, "PublicTest", count)
    return faces_to_batch(faces, spec), labels


def _copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(bundle, target)
    return target


def test_metadata_follows_the_bundle_contract(exported_bundle, trained_checkpoint):
    from fer_ros.core.bundle import file_sha256
    meta = json.loads((exported_bundle / "model.json").read_text())
    assert meta["format_version"] == 1
    assert (meta["name"], meta["version"], meta["network"]) == ("tiny_test", "0.0.1",
                                                                "model.onnx")
    assert meta["network_sha256"] == file_sha256(exported_bundle / "model.onnx")
    assert meta["labels"] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert meta["input"] == {"name": "input", "size": 32, "channels": 1, "mean": [0.5],
                             "std": [0.5], "crop_margin": 0.15, "layout": "NCHW",
                             "dtype": "float32"}
    assert meta["output"] == {"name": "probabilities", "softmax_applied": True}
    assert meta["arch"] == "resnet18" and meta["precision"] == "fp32"
    assert meta["training"]["source_checkpoint"] == str(trained_checkpoint)
    assert meta["training"]["epochs"] == 1 and meta["training"]["config"]["amp"] == "bf16"
    assert meta["metrics"]["fer2013_publictest_faces"] == 128
    assert 0.0 <= meta["metrics"]["fer2013_publictest_accuracy"] <= 1.0
    assert not (exported_bundle / "model.onnx.tmp").exists(), "temporary file left behind"


def test_runtime_matches_pytorch_on_real_faces(exported_bundle, trained_checkpoint, fer_extract):
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.classify import OnnxRuntimeBackend
    from fer_ros.training.export import WithSoftmax, load_trained_model
    bundle = load_bundle(exported_bundle)
    x, _ = _public_faces(fer_extract, bundle.input_spec)
    with torch.no_grad():
        expected = WithSoftmax(load_trained_model(trained_checkpoint).model)(
            torch.from_numpy(x)).numpy()
    backend = OnnxRuntimeBackend(bundle, threads=1, max_batch=5)  # odd chunks: dynamic batch
    got = backend.infer(x)
    assert np.abs(got - expected).max() < 1e-4, "ONNX bundle disagrees with PyTorch"
    assert (got.argmax(1) == expected.argmax(1)).all()
    assert np.allclose(got.sum(1), 1.0, atol=1e-5), "softmax missing from the graph"
    assert backend.infer(x[:1]).shape == (1, 7)


def test_parity_check_catches_a_network_that_differs(exported_bundle, trained_checkpoint,
                                                     fer_extract):
    from fer_ros.training.export import ExportError, check_parity, load_trained_model
    from fer_ros.core.bundle import load_bundle
    model = load_trained_model(trained_checkpoint).model
    x, _ = _public_faces(fer_extract, load_bundle(exported_bundle).input_spec)
    report = check_parity(model, exported_bundle / "model.onnx", x)
    assert report["top1_agreement"] == 1.0 and report["faces"] == 64
    with torch.no_grad():  # a different network than the exported one
        model.head[-1].weight.mul_(-1.0)
    with pytest.raises(ExportError, match="does not match PyTorch on 64 real faces"):
        check_parity(model, exported_bundle / "model.onnx", x)


def test_corrupted_network_is_rejected(exported_bundle, tmp_path):
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.classify import OnnxRuntimeBackend
    from fer_ros.core.errors import ModelError
    bundle_dir = _copy(exported_bundle, tmp_path)
    network = bundle_dir / "model.onnx"
    network.write_bytes(network.read_bytes()[: network.stat().st_size // 2])  # truncated copy
    with pytest.raises(ModelError, match="SHA-256 .* differs from network_sha256"):
        load_bundle(bundle_dir)
    with pytest.raises(ModelError, match="onnxruntime cannot load the network"):
        OnnxRuntimeBackend(load_bundle(bundle_dir, verify_sha256=False), threads=1)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(labels=m["labels"][:6]), "does not match the 6 labels"),
    (lambda m: m["input"].update(size=48), r"does not match model.json input \(N, 1, 48, 48\)"),
    (lambda m: m["output"].update(name="logits"), "network I/O is 'input' -> 'probabilities'"),
])
def test_metadata_network_mismatch_is_rejected(exported_bundle, tmp_path, edit, message):
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.classify import OnnxRuntimeBackend
    from fer_ros.core.errors import ModelError
    bundle_dir = _copy(exported_bundle, tmp_path)
    meta = json.loads((bundle_dir / "model.json").read_text())
    edit(meta)
    (bundle_dir / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=message):
        OnnxRuntimeBackend(load_bundle(bundle_dir), threads=1)


def test_export_refuses_a_file_that_is_not_a_training_checkpoint(tmp_path, fer_extract):
    from fer_ros.cli import main
    from fer_ros.training.export import ExportError, export_bundle
    weights_only = tmp_path / "weights.pt"
    torch.save({"model": {}}, weights_only)
    with pytest.raises(ExportError, match="lacks .*written by `fer-ros train`"):
        export_bundle(weights_only, tmp_path / "out", data=fer_extract)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert main(["export", str(garbage), str(tmp_path / "out2"), "--data", str(fer_extract)]) == 1
    assert not (tmp_path / "out2" / "model.json").exists()


def test_evaluate_report_numbers_go_into_metrics(exported_bundle, fer_extract, tmp_path):
    """`fer-ros evaluate --json` on the bundle agrees with export's own measurement, and
    its numbers are named <dataset>_<split>_<name> when passed via --metrics-json."""
    from fer_ros.cli import main
    from fer_ros.training.export import read_metrics_json
    report = tmp_path / "val.json"
    assert main(["evaluate", "--model", str(exported_bundle), "--dataset", "fer2013",
                 "--data", str(fer_extract), "--split", "PublicTest", "--threads", "1",
                 "--json", str(report)]) == 0
    metrics = read_metrics_json(report)
    exported = json.loads((exported_bundle / "model.json").read_text())["metrics"]
    assert metrics["fer2013_publictest_faces"] == 128
    assert metrics["fer2013_publictest_accuracy"] == pytest.approx(
        exported["fer2013_publictest_accuracy"])
    assert "fer2013_publictest_macro_f1" in metrics


def test_export_of_a_ckplus_checkpoint_checks_itself_on_its_own_fold(tmp_path):
    """Export is not FER2013-only: a CK+ model (other classes, k-fold validation) is
    verified on its held-out fold and gets its own labels and fold-named metrics."""
    if not CKPLUS_DIR.is_dir():
        pytest.skip(f"CK+ not found at {CKPLUS_DIR}")
    from fer_ros.cli import main
    from fer_ros.core.bundle import load_bundle
    from fer_ros.training.train import train
    train(tiny_config(CKPLUS_DIR, tmp_path / "run", dataset="ckplus", folds=10, fold=2,
                      epochs=1, max_train_samples=96))
    out = tmp_path / "ck_bundle"
    code = main(["export", str(tmp_path / "run" / "last.pt"), str(out), "--parity-faces", "32"])
    assert code == 0, "fer-ros export refused a CK+ checkpoint"
    bundle = load_bundle(out)
    assert "contempt" in bundle.labels and len(bundle.labels) == 7, bundle.labels
    metrics = json.loads((out / "model.json").read_text())["metrics"]
    assert metrics["ckplus_fold2of10_faces"] > 50, metrics
    assert 0.0 <= metrics["ckplus_fold2of10_accuracy"] <= 1.0, metrics
