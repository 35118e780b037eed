"""`fer-ros` command line: one subcommand per job (train, evaluate, export, ...)."""
from __future__ import annotations

import argparse
import json
import sys


def _train(args: argparse.Namespace) -> int:
    from fer_ros.training.config import config_from_args
    from fer_ros.training.train import resume, train
    result = resume(args.resume) if args.resume else train(config_from_args(args))
    print(json.dumps(result, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fer-ros", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train a ResNet on a face-expression dataset")
    from fer_ros.training.config import add_config_arguments
    add_config_arguments(p)
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR exactly")
    p.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
