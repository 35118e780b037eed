"""``fer-ros average``: the mean of several checkpoints of one run (stochastic weight averaging).

    fer-ros average runs/r/epoch5.pt runs/r/epoch6.pt runs/r/epoch7.pt runs/r/epoch8.pt \\
        --out runs/r/swa.pt --json runs/r/swa.json

Averaging the weights of the last epochs of a run (Izmailov et al. 2018, "Averaging Weights
Leads to Wider Optima and Better Generalization") lands nearer the centre of the flat region
those epochs circle. BatchNorm statistics of averaged weights are not the average of the
statistics, so they are measured again with a pass over training faces (no augmentation), as
``torch.optim.swa_utils.update_bn``. The result is an ordinary checkpoint: evaluate it on
PublicTest against the run's best.pt, then export whichever wins.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from fer_ros.core.cli_args import add_json_argument

HELP = "average the weights of several checkpoints of one run (SWA) and re-measure BatchNorm"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoints", nargs="+", help="checkpoints of one run (same config)")
    parser.add_argument("--out", required=True, help="averaged checkpoint to write")
    parser.add_argument("--data", help="dataset path when the checkpoints' is not here")
    parser.add_argument("--labels", help="FER+ votes csv when the checkpoints' is not here")
    parser.add_argument("--faces", type=int, default=8192,
                        help="training faces for the BatchNorm statistics (0 = all)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    add_json_argument(parser, "the averaged checkpoint and its sources")


def average_states(states: list[dict]) -> dict:
    """Element-wise mean of the float tensors; integer buffers (BN counters) from the last."""
    first = states[0]
    for other in states[1:]:
        if other["config"]["arch"] != first["config"]["arch"] \
                or list(other["labels"]) != list(first["labels"]) \
                or other["model"].keys() != first["model"].keys():
            raise ValueError("checkpoints of different models (arch, classes or layers) cannot "
                             "be averaged; pass checkpoints of one run")
    averaged = {}
    for key, last in states[-1]["model"].items():
        if last.is_floating_point():
            averaged[key] = sum(s["model"][key].double() for s in states).div(
                len(states)).to(last.dtype)
        else:
            averaged[key] = last.clone()
    return averaged


def average(paths: list[str], out: str, data: str | None = None, labels: str | None = None,
            faces: int = 8192, threads: int = 2) -> dict:
    import torch

    from fer_ros.training.checkpoint import load_checkpoint, save_checkpoint
    from fer_ros.training.config import TrainConfig
    from fer_ros.training.datasets import load_splits
    from fer_ros.training.models import create_model
    from fer_ros.training.train import input_spec
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    states = [load_checkpoint(p) for p in paths]
    values = dict(states[-1]["config"])
    values.update({k: v for k, v in (("data", data), ("labels", labels)) if v})
    values.update(max_train_samples=faces, max_val_samples=64)
    cfg = TrainConfig.from_dict(values)
    model = create_model(cfg.arch, len(states[-1]["labels"]), cfg.channels, cfg.stem, cfg.head,
                         cfg.dropout)
    model.load_state_dict(average_states(states))
    x_train = load_splits(cfg, input_spec(cfg)).x_train
    batches = (x_train[i:i + cfg.batch_size] for i in range(0, len(x_train), cfg.batch_size))
    torch.optim.swa_utils.update_bn(batches, model)  # cumulative statistics, train mode
    model.eval()
    state = {**{k: v for k, v in states[-1].items() if k not in ("optimizer", "scheduler")},
             "model": model.state_dict(), "averaged_from": [str(p) for p in paths],
             # no epoch's logged accuracy describes the average: export leaves it out
             "history": []}
    save_checkpoint(out, state)
    return {"checkpoint": str(out), "averaged_from": [str(p) for p in paths],
            "batchnorm_faces": int(len(x_train))}


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.cli_args import write_json
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    result = average(args.checkpoints, args.out, args.data, args.labels, args.faces,
                     args.threads)
    print(json.dumps(result, indent=2))
    write_json(args.json, result)
    return 0
