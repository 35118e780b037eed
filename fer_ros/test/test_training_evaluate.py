"""`fer-ros evaluate` on a tiny real checkpoint and its bundle: JSON contract, label
matching across datasets, and training tensors identical to the runtime preprocessing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from training_helpers import CKPLUS_DIR, FER2013_CSV, needs_shared, tiny_config, write_extract

from fer_ros.cli import main
from fer_ros.core.preprocess import face_to_tensor
from fer_ros.training.checkpoint import load_checkpoint
from fer_ros.training.data import load_fer2013
from fer_ros.training.evaluate import match_labels
from fer_ros.training.train import Run

pytestmark = [pytest.mark.shared_data, pytest.mark.slow, needs_shared(FER2013_CSV, CKPLUS_DIR)]
CONTRACT = {"accuracy", "macro_f1", "per_class", "confusion", "labels", "n", "model",
            "dataset", "split"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    pixels, votes = write_extract(root, {"Training": 256, "PublicTest": 96})
    run = Run(tiny_config(pixels, root / "run", epochs=1))
    run.fit()
    return pixels, votes, root / "run", run


def _evaluate(tmp_path, *args) -> dict:
    out = tmp_path / "metrics.json"
    assert main(["evaluate", *args, "--json", str(out), "--out", str(tmp_path / "report")]) == 0
    return json.loads(out.read_text())


def test_checkpoint_json_contract_and_val_accuracy(trained, tmp_path):
    pixels, _, run_dir, _ = trained
    report = _evaluate(tmp_path, "--model", str(run_dir / "best.pt"), "--dataset", "fer2013",
                       "--data", str(pixels), "--split", "PublicTest")
    assert CONTRACT <= set(report)
    assert report["n"] == 96 and report["split"] == "PublicTest"
    confusion = np.array(report["confusion"])
    assert confusion.shape == (7, 7) and confusion.sum() == 96
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / 96)
    for name in report["labels"]:
        assert set(report["per_class"][name]) == {"precision", "recall", "f1", "support"}
    # evaluate and the training loop's validation agree exactly (same tensors, no TTA)
    assert report["accuracy"] == pytest.approx(load_checkpoint(run_dir / "best.pt")["best_acc"])
    for name in ("report.txt", "confusion.png", "confusion_normalised.png"):
        assert (tmp_path / "report" / name).is_file()


@pytest.mark.parametrize("tta", ["flip", "tencrop"])
def test_test_time_augmentation(trained, tmp_path, tta):
    pixels, _, run_dir, _ = trained
    report = _evaluate(tmp_path, "--model", str(run_dir / "best.pt"), "--dataset", "fer2013",
                       "--data", str(pixels), "--tta", tta)
    assert report["tta"] == tta and report["n"] == 96 and 0 <= report["accuracy"] <= 1


def test_ten_crops_are_shifted_views():
    from fer_ros.training.evaluate import ten_crops
    x = np.random.default_rng(0).random((2, 1, 48, 48), dtype=np.float32)
    crops = ten_crops(x)
    assert len(crops) == 10 and all(c.shape == x.shape for c in crops)
    np.testing.assert_array_equal(crops[1], crops[0][..., ::-1])
    assert not np.allclose(crops[0], crops[2])


def test_fer2013_model_on_ckplus_matches_synonyms(trained, tmp_path):
    _, _, run_dir, _ = trained
    report = _evaluate(tmp_path, "--model", str(run_dir / "best.pt"), "--dataset", "ckplus",
                       "--data", str(CKPLUS_DIR))
    assert report["split"] == "all"
    assert report["unmapped_dataset_labels"] == {"contempt": 54}
    assert report["unmapped_model_labels"] == ["neutral"]
    assert report["n"] == 981 - 54 and report["excluded"] == 54
    assert report["confusion_columns"][-1] == "neutral"  # predicting neutral is an error


def test_match_labels_table():
    pred_to_true, no_model, no_data = match_labels(
        ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"),
        ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"))
    assert pred_to_true == [4, 5, 6, 1, 3, 2, 0]
    assert no_model == ["contempt"] and no_data == []


def test_bundle_runs_through_the_runtime_backend(trained, tmp_path):
    export = pytest.importorskip("fer_ros.training.export")
    pytest.importorskip("onnxruntime")
    pixels, _, run_dir, _ = trained
    export.export_bundle(run_dir / "best.pt", tmp_path / "bundle", data=pixels, parity_faces=16,
                         val_samples=32, log=lambda *_: None)
    via_onnx = _evaluate(tmp_path, "--model", str(tmp_path / "bundle"), "--dataset", "fer2013",
                         "--data", str(pixels), "--split", "PublicTest")
    via_torch = _evaluate(tmp_path, "--model", str(run_dir / "best.pt"), "--dataset",
                          "fer2013", "--data", str(pixels), "--split", "PublicTest")
    assert via_onnx["backend"].startswith("onnxruntime")
    assert CONTRACT <= set(via_onnx)
    assert abs(via_onnx["accuracy"] - via_torch["accuracy"]) <= 1 / 96  # float rounding only


def test_training_tensors_are_the_runtime_preprocessing(trained):
    pixels, _, _, run = trained
    val, = load_fer2013(pixels, "PublicTest")
    for i in (0, 17, 95):
        np.testing.assert_array_equal(run.x_val[i].numpy(), face_to_tensor(val.images[i],
                                                                           run.spec))


def test_evaluate_reports_bad_input(trained, tmp_path, capsys):
    pixels, _, run_dir, _ = trained
    code = main(["evaluate", "--model", str(tmp_path / "nope.pt"), "--dataset", "fer2013",
                 "--data", str(pixels), "--json", str(tmp_path / "x.json")])
    assert code == 2 and "is neither a checkpoint" in capsys.readouterr().err  # a wrong path
    code = main(["evaluate", "--model", str(run_dir / "best.pt"), "--dataset", "ferplus",
                 "--data", str(pixels), "--json", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert code == 2 and "--labels" in err and len(err.splitlines()) == 1, err
