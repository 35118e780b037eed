"""Benchmarks with JSON output (speed goals live here, not in timed tests)."""
from __future__ import annotations

import argparse
import statistics

from fer_ros.core.cli_args import add_json_argument


def module_parser(module: str, doc: str, what: str = "the results") -> argparse.ArgumentParser:
    """The command line of ``python -m <module>``: its docstring as the help, --json required."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_json_argument(parser, what, required=True)
    return parser


def medians(runs: list[dict], keys) -> dict:
    """Per key, the median of its values over ``runs``, to 2 decimals; None where a run
    has none (a section that could not run)."""
    values = {key: [run.get(key) for run in runs] for key in keys}
    return {key: None if None in v else round(float(statistics.median(v)), 2)
            for key, v in values.items()}
