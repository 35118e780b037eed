"""Every `fer-ros` sub-command speaks the same grammar (fer_ros.core.cli_args): --model PATH
names the bundle it reads, --json PATH writes its result, a usage error is one stderr line
with exit code 2, and every training flag's help says what the flag does."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fer_ros.cli import COMMANDS, build_parser, main

#: commands that read a model bundle (and so take --model)
READS_BUNDLE = {"evaluate", "calibrate", "quantize", "build-engine", "detect", "bag-eval",
                "benchmark", "serve", "soak", "recover"}
#: commands that read none: train and export make checkpoints and bundles, bag-play replays
NO_BUNDLE = {"train", "export", "bag-play", "average"}
#: the other arguments each command needs, so that only --model can be wrong
REQUIRED = {"evaluate": ["--dataset", "fer2013", "--data", "x.csv"],
            "calibrate": ["--dataset", "fer2013", "--data", "x.csv"],
            "quantize": ["out_dir"], "build-engine": [], "detect": ["photo.jpg"],
            "bag-eval": ["bag", "--out", "out"], "benchmark": ["--json", "b.json"], "serve": [],
            "soak": [], "recover": ["out.pt"]}


def subparsers() -> dict:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_command_is_classified():
    assert set(COMMANDS) == READS_BUNDLE | NO_BUNDLE, (
        "a fer-ros command is missing from READS_BUNDLE/NO_BUNDLE in this test: decide whether "
        "it reads a model bundle (then it takes --model PATH)")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_lists_the_shared_options(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "--json PATH" in text, f"fer-ros {command} has no --json PATH for its result"
    if command in READS_BUNDLE:
        assert "--model PATH" in text and "default" in text, \
            f"fer-ros {command} must name its bundle with --model PATH (default bundle)"


@pytest.mark.parametrize("command", sorted(READS_BUNDLE))
def test_a_bad_model_path_is_one_line_and_exit_2(command, tmp_path, capsys):
    missing = str(tmp_path / "no_such_bundle")
    code = main([command, "--model", missing, *REQUIRED[command]])
    err = capsys.readouterr().err
    assert code == 2, f"fer-ros {command} --model <missing> exited {code}, expected 2 (usage)"
    assert len(err.strip().splitlines()) == 1, f"expected one stderr line, got:\n{err}"
    assert err.startswith(f"fer-ros {command}: error:") and missing in err \
        and "model.json" in err, err


def test_every_training_flag_says_what_it_does():
    train = subparsers()["train"]
    vague = [a.option_strings[0] for a in train._actions
             if a.option_strings and a.dest != "help"
             and (not a.help or a.help.lstrip().startswith("(default"))]
    assert not vague, f"training flags whose help gives only the default: {vague}; add a " \
                      "help string to the TrainConfig field (fer_ros/training/config.py)"


def test_the_installed_command_exits_2_with_one_line(tmp_path):
    """The real entry point (python -m fer_ros), not only main(): exit status and stderr."""
    done = subprocess.run([sys.executable, "-m", "fer_ros", "build-engine", "--model",
                           str(tmp_path)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "is not a model bundle" in done.stderr, done.stderr
