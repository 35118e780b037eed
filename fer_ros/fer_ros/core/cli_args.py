"""The one grammar of the ``fer-ros`` sub-commands: --model, --json, errors, exit codes.

Every sub-command that reads a model bundle takes ``--model PATH`` (default: the installed
default bundle) and every one writes its machine-readable result with ``--json PATH``.
Errors are one line on stderr, ``fer-ros CMD: error: WHAT; FIX``, and the exit codes are

    0  ok
    1  failure: the command ran and could not do its work (a model that cannot be loaded,
       TensorRT missing, nothing processed)
    2  usage: the command line names something unusable (unknown option, bad value, a path
       that does not exist or is not the right kind, a malformed dataset, an unknown topic)
    3  partial (bag-eval, bag-play: a damaged bag, handled up to the damage) or refused
       (quantize: int8 loses more accuracy than --max-drop; nothing written)

argparse only: importable by every layer's command-line module.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_ros.core.errors import ConfigError, FerError, InputError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
MODEL_HELP = ("model bundle directory (model.json + network); default: the installed "
              "default bundle")


def bundle_dir(value: str) -> str:
    """argparse type of --model: a directory holding model.json."""
    if not (Path(value) / "model.json").is_file():
        raise argparse.ArgumentTypeError(
            f"{value} is not a model bundle (no model.json in it); pass a bundle directory "
            "or leave --model out for the installed default bundle")
    return value


def bundle_or_checkpoint(value: str) -> str:
    """argparse type of evaluate's --model: a bundle directory or a training checkpoint."""
    if Path(value).is_file():
        return value
    try:
        return bundle_dir(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{value} is neither a checkpoint file (.pt from `fer-ros train`) nor a model "
            "bundle (a directory with model.json); pass one of them") from None


def add_model_argument(parser, help: str = MODEL_HELP, type=bundle_dir) -> None:
    parser.add_argument("--model", metavar="PATH", type=type, default=None, help=help)


def add_json_argument(parser, what: str, required: bool = False) -> None:
    parser.add_argument("--json", metavar="PATH", type=Path, required=required,
                        help=f"write {what} as JSON to PATH")


def write_json(path: Path | None, data) -> None:
    """``data`` as indented JSON at ``path`` (folders created); nothing when path is None."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def exit_code_for(exc: BaseException) -> int:
    """2 for a wrong input named on the command line, 1 for a failure doing the work."""
    usage = (InputError, ConfigError, FileNotFoundError, argparse.ArgumentTypeError)
    return EXIT_USAGE if isinstance(exc, usage) else EXIT_FAILURE


def report_error(command: str, error: BaseException | str, code: int | None = None) -> int:
    """Print ``fer-ros COMMAND: error: MESSAGE`` as one line on stderr; return the exit code."""
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"fer-ros {command}: error: {message}", file=sys.stderr, flush=True)
    if code is None:
        code = exit_code_for(error) if isinstance(error, BaseException) else EXIT_FAILURE
    return code


#: what each sub-command catches and turns into a one-line error (anything else is a bug)
EXPECTED_ERRORS = (FerError, ValueError, OSError)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one stderr line naming the fix (exit 2)."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message}; see {self.prog} --help", file=sys.stderr)
        self.exit(EXIT_USAGE)
