"""Train a ResNet on a face-expression dataset (see fer_ros.training.train)."""
from __future__ import annotations

import argparse
import json
import os

from fer_ros.core.cli_args import add_json_argument
from fer_ros.training.config import add_config_arguments

HELP = "train a ResNet on FER2013 / FER+ / CK+ / an image folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue the run in RUN_DIR exactly where it stopped")
    add_json_argument(parser, "the run's result (best accuracy, epochs, seconds, files)")


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.cli_args import write_json
    from fer_ros.training.config import config_from_args
    from fer_ros.training.train import resume, train
    # errors (config, dataset, weights) reach fer_ros.cli.main as one stderr line
    result = resume(args.resume) if args.resume else train(config_from_args(args))
    if int(os.environ.get("RANK", 0)) == 0:  # under torchrun only rank 0 reports
        print(json.dumps(result, indent=2))
        write_json(args.json, result)
    return 0
