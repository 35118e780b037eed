"""`fer-ros average` (SWA): the element-wise mean of checkpoints of one run, BatchNorm statistics
measured again on real training faces, written as a checkpoint that evaluates like any other."""
from __future__ import annotations

import pytest

from training_helpers import FER2013_CSV, needs_shared, tiny_config, write_extract

pytestmark = [pytest.mark.shared_data, pytest.mark.slow, needs_shared(FER2013_CSV)]

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory):
    """(csv, checkpoint after epoch 1, checkpoint after epoch 2) of one tiny real run."""
    from fer_ros.training.train import train
    root = tmp_path_factory.mktemp("avg")
    csv_path, _ = write_extract(root, {"Training": 256, "PublicTest": 64})
    run = root / "run"
    train(tiny_config(csv_path, run, epochs=2, keep_epoch_checkpoints=True))
    assert sorted(p.name for p in run.glob("epoch*.pt")) == ["epoch001.pt", "epoch002.pt"], \
        "keep_epoch_checkpoints must keep one checkpoint per epoch"
    return csv_path, run / "epoch001.pt", run / "epoch002.pt"


def test_average_is_the_mean_of_the_weights_with_fresh_batchnorm(two_epochs, tmp_path):
    from fer_ros.cli import main
    from fer_ros.training.checkpoint import load_checkpoint
    csv_path, first, second = two_epochs
    out = tmp_path / "swa.pt"
    assert main(["average", str(first), str(second), "--out", str(out), "--data",
                 str(csv_path), "--faces", "0", "--threads", "1"]) == 0
    a, b, avg = (load_checkpoint(p)["model"] for p in (first, second, out))
    key = "trunk.layer3.0.conv1.weight"
    torch.testing.assert_close(avg[key], (a[key] + b[key]) / 2, msg="weights are not the mean")
    mean_of_stats = (a["trunk.bn1.running_var"] + b["trunk.bn1.running_var"]) / 2
    assert not torch.allclose(avg["trunk.bn1.running_var"], mean_of_stats), \
        "BatchNorm statistics must be measured again, not averaged"
    assert load_checkpoint(out)["history"] == [], \
        "an average must not carry one epoch's logged accuracy"


def test_averaged_checkpoint_evaluates_like_any_checkpoint(two_epochs, tmp_path):
    from fer_ros.training.average import average
    from fer_ros.training.datasets import load_faces
    from fer_ros.training.evaluate import load_predictor, score
    csv_path, first, second = two_epochs
    average([str(first), str(second)], str(tmp_path / "swa.pt"), data=str(csv_path), faces=0,
            threads=1)
    report = score(load_predictor(tmp_path / "swa.pt", threads=1),
                   load_faces("fer2013", str(csv_path), "PublicTest"))
    assert report["samples"] == 64 and 0.0 <= report["accuracy"] <= 1.0, report


def test_checkpoints_of_different_models_are_refused(two_epochs, tmp_path):
    from fer_ros.training.average import average_states
    from fer_ros.training.checkpoint import load_checkpoint
    _, first, second = two_epochs
    other = load_checkpoint(second)
    other["labels"] = list(reversed(other["labels"]))
    with pytest.raises(ValueError, match="different models"):
        average_states([load_checkpoint(first), other])
