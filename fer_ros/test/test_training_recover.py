"""`fer-ros recover`: a bundle's BN-folded ONNX network back into a trainable checkpoint.

A session fixture trains a ResNet-18 for one epoch on 300 real FER2013 faces and exports it;
the tests recover it from the bundle alone and compare with the original checkpoint on real
PublicTest faces, in eval mode (exact) and in train mode (batch statistics: close), and check that
continuing training from the recovered checkpoint keeps its classifier head.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from training_helpers import FER2013_CSV, tiny_config, write_extract

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(fer2013 extract csv, best.pt of a 1-epoch run, its exported bundle)."""
    if not FER2013_CSV.is_file():
        pytest.skip(f"FER2013 not found at {FER2013_CSV}")
    from fer_ros.cli import main
    from fer_ros.training.train import train
    root = tmp_path_factory.mktemp("recover")
    csv_path, _ = write_extract(root, {"Training": 300, "PublicTest": 128})
    train(tiny_config(csv_path, root / "run", epochs=1, channels_last=True))
    bundle = root / "bundle"
    code = main(["export", str(root / "run" / "best.pt"), str(bundle), "--name", "tiny",
                 "--version", "0.0.1", "--data", str(csv_path), "--parity-faces", "32"])
    assert code == 0, "fer-ros export failed on a freshly trained checkpoint"
    return csv_path, root / "run" / "best.pt", bundle


def _models_and_faces(trained, tmp_path):
    """(recover's result, original model, recovered model, PublicTest faces as a batch)."""
    from fer_ros.training.checkpoint import load_checkpoint
    from fer_ros.training.config import TrainConfig
    from fer_ros.training.data import to_tensor_batch
    from fer_ros.training.datasets import load_faces
    from fer_ros.training.models import model_from_checkpoint
    from fer_ros.training.recover import recover
    from fer_ros.training.train import input_spec
    csv_path, best, bundle = trained
    result = recover(bundle, tmp_path / "recovered.pt", data=str(csv_path), faces=300)
    state = load_checkpoint(best)
    original = model_from_checkpoint(state)
    recovered = model_from_checkpoint(load_checkpoint(tmp_path / "recovered.pt"))
    spec = input_spec(TrainConfig.from_dict(state["config"]))
    faces = load_faces("fer2013", str(csv_path), "PublicTest")
    return result, original, recovered, torch.from_numpy(to_tensor_batch(faces, spec))


def test_recovered_network_equals_the_bundle_and_the_original(trained, tmp_path):
    result, original, recovered, x = _models_and_faces(trained, tmp_path)
    assert result["max_probability_difference"] < 1e-4, result
    from fer_ros.training.checkpoint import load_checkpoint
    config = load_checkpoint(tmp_path / "recovered.pt")["config"]
    assert config["max_train_samples"] == 0 and config["max_val_samples"] == 0, \
        "the checkpoint must record the bundle's training config, not recover's face limits"
    with torch.no_grad():
        want, got = torch.softmax(original(x), 1), torch.softmax(recovered(x), 1)
    assert (want - got).abs().max() < 1e-4, \
        "the recovered checkpoint does not compute the original network in eval mode"


def test_recovered_batchnorm_statistics_keep_train_mode_close(trained, tmp_path):
    """A fine-tune starts from the bundle's function: in train mode, BatchNorm normalises by
    the batch's statistics, which the rebuilt ones match (the folded network's own BN would
    instead rescale every layer)."""
    _, original, recovered, x = _models_and_faces(trained, tmp_path)
    with torch.no_grad():
        want = original.eval()(x).argmax(1)
        got = recovered.train()(x).argmax(1)
    agreement = (want == got).float().mean().item()
    assert agreement > 0.9, (f"train-mode predictions agree with the bundle on only "
                             f"{agreement:.0%} of the faces: the BatchNorm statistics were not "
                             "rebuilt")


def test_continuing_from_a_recovered_checkpoint_keeps_the_head(trained, tmp_path):
    from fer_ros.training.models import create_model, load_pretrained
    from fer_ros.training.recover import recover
    csv_path, _, bundle = trained
    recover(bundle, tmp_path / "r.pt", data=str(csv_path), faces=300)
    labels = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    same = create_model("resnet18", 7, channels=1)
    assert load_pretrained(same, tmp_path / "r.pt", labels) == [], \
        "same classes: every tensor, the head included, should load"
    other = create_model("resnet18", 7, channels=1)
    missing = load_pretrained(other, tmp_path / "r.pt", tuple(reversed(labels)))
    assert missing and all(k.startswith("head.") for k in missing), missing
