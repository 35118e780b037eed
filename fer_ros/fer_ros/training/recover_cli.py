"""Rebuild a trainable checkpoint from a model bundle (see fer_ros.training.recover).

    fer-ros recover --model fer_ros/models/fer2013 runs/recovered/fer2013.pt
    fer-ros train --pretrained runs/recovered/fer2013.pt --schedule cosine --lr 0.008 ...
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from fer_ros.core.cli_args import add_json_argument, add_model_argument

HELP = "rebuild a trainable checkpoint from a model bundle's ONNX network"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("out", help="checkpoint to write (e.g. runs/recovered/fer2013.pt)")
    parser.add_argument("--data", help="fer2013.csv(.gz) when the path in the bundle's "
                        "training config is not on this machine")
    parser.add_argument("--labels", help="FER+ votes csv, likewise")
    parser.add_argument("--faces", type=int, default=4096,
                        help="training faces that set the BatchNorm statistics")
    add_json_argument(parser, "the checkpoint, its bundle and the largest probability "
                      "difference against ONNX Runtime")


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.bundle import default_bundle_path
    from fer_ros.core.cli_args import write_json
    from fer_ros.training.recover import recover
    model = args.model or str(default_bundle_path())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    result = recover(model, args.out, args.data, args.labels, args.faces)
    print(json.dumps(result, indent=2))
    write_json(args.json, result)
    return 0
