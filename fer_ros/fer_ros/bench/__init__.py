"""Benchmarks with JSON output (speed goals live here, not in timed tests)."""
from __future__ import annotations

import argparse

from fer_ros.core.cli_args import add_json_argument


def module_parser(module: str, doc: str, what: str = "the results") -> argparse.ArgumentParser:
    """The command line of ``python -m <module>``: its docstring as the help, --json required."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_json_argument(parser, what, required=True)
    return parser
