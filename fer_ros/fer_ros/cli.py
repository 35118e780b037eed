"""`fer-ros` command line (also `python -m fer_ros`): one module per subcommand.

Each subcommand lives in its own module, beside the code it drives, exposing ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only to build the
parser; heavy imports (torch, rclpy) happen inside ``run`` so the robot runtime never needs
torch. The grammar they share (--model, --json, one-line errors, exit codes) is
:mod:`fer_ros.core.cli_args`.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from fer_ros.core.cli_args import EXPECTED_ERRORS, OneLineParser, report_error

COMMANDS = {
    "train": "fer_ros.training.train_cli",
    "evaluate": "fer_ros.training.evaluate_cli",
    "export": "fer_ros.training.export_cli",
    "quantize": "fer_ros.training.quantize_cli",
    "calibrate": "fer_ros.training.calibrate_cli",
    "recover": "fer_ros.training.recover_cli",
    "average": "fer_ros.training.average",
    "build-engine": "fer_ros.tools.build_engine_cli",
    "detect": "fer_ros.files.detect_cli",
    "bag-eval": "fer_ros.bag.eval_cli",
    "bag-play": "fer_ros.bag.play_cli",
    "benchmark": "fer_ros.bench.cli",
    "serve": "fer_ros.serve.cli",
    "soak": "fer_ros.bench.soak",
}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="fer-ros", description="fer_ros tools (exit codes: 0 ok, "
                           "1 failure, 2 usage, 3 partial or refused; see docs/cli.md)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("fer_ros"):
                continue  # subcommand not part of this install
            raise
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return int(exc.code or 0)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except EXPECTED_ERRORS as exc:  # a command that did not catch its own: still one line
        return report_error(args.command, exc)


if __name__ == "__main__":
    sys.exit(main())
