"""The training loop on a few hundred real FER2013 faces: learning, exact resume, DDP,
transfer-learning stages, pretrained loading. Each run takes seconds on 2 CPU cores."""
from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from training_helpers import FER2013_CSV, REPO, needs_shared, tiny_config, write_extract

from fer_ros.training.checkpoint import load_checkpoint
from fer_ros.training.models import create_model, load_pretrained, set_trainable
from fer_ros.training.train import Run, resume, train

pytestmark = [pytest.mark.shared_data, pytest.mark.slow, needs_shared(FER2013_CSV)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    pixels, _ = write_extract(tmp_path_factory.mktemp("fer"), {"Training": 256, "PublicTest": 64})
    return pixels


def test_a_few_steps_lower_the_loss_on_real_faces(data, tmp_path):
    cfg = tiny_config(data, tmp_path, optimizer="adamw", lr=2e-3, epochs=3, rotate_deg=0,
                      zoom=0, shift=0, hflip=False, brightness=0, erase_prob=0,
                      label_smoothing=0, schedule="constant")
    history = Run(cfg).fit() and load_checkpoint(tmp_path / "last.pt")["history"]
    first, last = history[0]["train_loss"], history[-1]["train_loss"]
    assert last < 0.85 * first, f"training loss {first:.3f} -> {last:.3f}: not learning"


def _interrupt_after_first_epoch(run: Run) -> None:
    class Killed(Exception):
        pass

    write = run._write_epoch

    def write_then_die(epoch, row, improved):
        write(epoch, row, improved)
        raise Killed  # like SIGKILL right after the epoch's checkpoint

    run._write_epoch = write_then_die
    with pytest.raises(Killed):
        run.fit()


@pytest.mark.parametrize("options", [
    dict(schedule="onecycle"),
    dict(schedule="plateau", warmup_head_epochs=1, head="mlp", dropout=0.3),
])
def test_resume_after_a_kill_continues_exactly(data, tmp_path, options):
    straight = train(tiny_config(data, tmp_path / "straight", **options))
    _interrupt_after_first_epoch(Run(tiny_config(data, tmp_path / "killed", **options)))
    resumed = resume(tmp_path / "killed")
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "killed" / "last.pt")
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), f"{key} differs after resume"
    drop = ("img_per_s", "train_seconds")
    assert [{k: v for k, v in r.items() if k not in drop} for r in a["history"]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in b["history"]]
    assert straight["best_val_acc"] == resumed["best_val_acc"]
    with open(tmp_path / "killed" / "log.csv") as handle:
        assert [int(r["epoch"]) for r in csv.DictReader(handle)] == [1, 2]


def test_run_dir_holds_checkpoints_log_and_report(data, tmp_path):
    result = train(tiny_config(data, tmp_path, epochs=1))
    for name in ("config.yaml", "log.csv", "last.pt", "best.pt", "report/metrics.json",
                 "report/report.txt", "report/confusion.png", "report/confusion_normalised.png",
                 "report/curves.png"):
        assert (tmp_path / name).is_file(), f"run dir lacks {name}"
    assert result["report"] == str(tmp_path / "report" / "metrics.json")
    state = load_checkpoint(tmp_path / "best.pt")  # weights_only=True
    assert {"model", "optimizer", "scheduler", "epoch", "config", "labels", "input_spec", "rng",
            "torch_rng", "best_acc", "history"} <= set(state)


def test_early_stopping_stops(data, tmp_path):
    result = train(tiny_config(data, tmp_path, epochs=6, early_stop_patience=1, lr=1e-6,
                               schedule="constant"))
    assert result["epochs"] < 6


def test_ddp_two_cpu_processes_on_gloo(data, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "fer_ros"),
                                                       os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(port),
           "-m", "fer_ros", "train", "--dataset", "fer2013", "--data", str(data),
           "--input-size", "32", "--batch-size", "32", "--epochs", "2", "--threads", "1",
           "--amp", "off", "--tta-flip", "false", "--out", str(tmp_path / "ddp")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    state = load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert state["epoch"] == 1 and len(state["history"]) == 2
    # 256 images, global batch 2 x 32: the epoch's counts are summed over both ranks
    assert state["history"][0]["train_images"] == 256
    assert done.stdout.count("epoch 2/2") == 1, "only rank 0 may log"
    assert done.stdout.count('"best_val_acc"') == 1, "only rank 0 may print the result"


def test_grayscale_stem_keeps_pretrained_rgb_filters(tmp_path):
    from torchvision.models import resnet18
    torch.manual_seed(0)
    source = resnet18(weights=None)
    path = tmp_path / "resnet18_imagenet.pth"
    torch.save(source.state_dict(), path)
    model = create_model("resnet18", 7, channels=1)
    missing = load_pretrained(model, path)
    assert not [k for k in missing if k.startswith("trunk.")], missing
    gray = torch.rand(2, 1, 64, 64)
    rgb_out = source.conv1(gray.repeat(1, 3, 1, 1))
    torch.testing.assert_close(model.trunk.conv1(gray), rgb_out, rtol=1e-4, atol=1e-5)


def test_our_checkpoint_transfers_to_a_new_class_set(data, tmp_path):
    train(tiny_config(data, tmp_path / "fer", epochs=1))
    model = create_model("resnet18", 8, channels=1, head="attention")
    missing = load_pretrained(model, tmp_path / "fer" / "best.pt")
    assert all(k.startswith("head.") for k in missing), missing
    wrong = create_model("resnet50", 8, channels=1)
    with pytest.raises(ValueError, match="share no ResNet stage"):
        load_pretrained(wrong, tmp_path / "fer" / "best.pt")


@pytest.mark.parametrize("arch, head", [
    ("resnet18", "linear"), ("resnet18", "mlp"), ("resnet18", "attention"),
    ("resnet34", "mlp"), ("resnet50", "linear"), ("resnet50", "attention"),
    ("resnet101", "mlp"), ("resnet152", "attention")])
def test_every_arch_and_head_builds_and_runs(arch, head):
    model = create_model(arch, 6, channels=1, stem="small" if arch == "resnet18" else "standard",
                         head=head, dropout=0.2).eval()
    with torch.inference_mode():
        assert model(torch.zeros(2, 1, 48, 48)).shape == (2, 6)


def test_unfreeze_last_stage_and_head_only():
    model = create_model("resnet18", 7)
    set_trainable(model, unfreeze_stages=1)
    trainable = {n.split(".")[1] for n, p in model.named_parameters()
                 if p.requires_grad and n.startswith("trunk.")}
    assert trainable == {"layer4"}
    model.train()
    assert model.trunk.layer4[0].bn1.training and not model.trunk.layer3[0].bn1.training, \
        "frozen stages must keep their BatchNorm statistics"
    set_trainable(model, unfreeze_stages=4, head_only=True)
    assert not any(p.requires_grad for p in model.trunk.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    model.train()
    assert not any(m.training for m in model.trunk.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))


def test_ferplus_probability_mode_trains(tmp_path):
    pixels, votes = write_extract(tmp_path, {"Training": 128, "PublicTest": 32})
    result = train(tiny_config(pixels, tmp_path / "run", dataset="ferplus", labels=str(votes),
                               label_mode="probability", epochs=1))
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert len(state["labels"]) == 8 and np.isfinite(state["history"][0]["train_loss"])
    assert result["epochs"] == 1


@pytest.mark.parametrize("name", ["dtl_resnet18", "resnet50_ckplus", "transfer_attention",
                                  "resnet152_folder"])
def test_recipe_yaml_is_a_valid_config(name, shared_dir):
    import argparse

    from fer_ros.training.config import add_config_arguments, config_from_args
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    path = REPO / "fer_ros" / "config" / "training" / f"{name}.yaml"
    cfg = config_from_args(parser.parse_args(["--config", str(path)]))
    # recipes name the data as ../shared/... from the repo root; the suite may run with
    # the shared folder elsewhere (FER_ROS_SHARED), so resolve that prefix through it
    data = shared_dir / cfg.data.removeprefix("../shared/") \
        if cfg.data.startswith("../shared/") else REPO / cfg.data
    assert data.exists(), f"{path}: data {cfg.data} not found (looked at {data})"
    override = config_from_args(parser.parse_args(["--config", str(path), "--epochs", "3"]))
    assert override.epochs == 3  # flags override the file


@pytest.mark.parametrize("native", [False, True])
def test_auto_precision_uses_bf16_only_where_the_cpu_has_it(native, monkeypatch):
    """Emulated bf16 trained 15x slower than fp32 on an AVX2-only CPU: auto must not pick it."""
    from fer_ros.training import engine
    monkeypatch.setattr(engine, "cpu_has_native_bf16", lambda: native)
    with engine.autocast_for(torch.device("cpu"), "auto"):
        out = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    want = torch.bfloat16 if native else torch.float32
    assert out.dtype == want, f"amp auto on a CPU with native bf16={native} computed in {out.dtype}"
    with engine.autocast_for(torch.device("cpu"), "bf16"):
        forced = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert forced.dtype == torch.bfloat16, "amp bf16 must force bf16 autocast"
