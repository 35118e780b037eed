#!/usr/bin/env python3
"""The speed table of the README and docs/results.md, generated from a benchmark JSON.

    scripts/speed_table.py benchmarks/latest.json            # print it
    scripts/speed_table.py benchmarks/latest.json --write    # replace it in both files
    scripts/speed_table.py benchmarks/latest.json --check    # exit 1 when a file is stale

The table sits between ``<!-- speed:begin -->`` and ``<!-- speed:end -->``; every figure in
it is read from the JSON (written by ``fer-ros benchmark``), with the issue-15 targets.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = (REPO / "README.md", REPO / "docs" / "results.md")
BEGIN, END = "<!-- speed:begin -->", "<!-- speed:end -->"

#: (key, what it is, target text, reached(value) or None)
ROWS = (
    ("detect_classify_fps_vga_3faces", "frames/s at defaults, VGA, 3 faces, camera stream",
     "≥ 150", lambda v: v >= 150),
    ("detect_classify_fps_vga_3faces_unrelated",
     "frames/s at defaults, unrelated frames (a new scene each frame)", "", None),
    ("detect_classify_fps_vga_3faces_fp32", "frames/s, fp32 network, camera stream", "", None),
    ("node_dds_fps", "`fer_node` over DDS, frames/s at 60 offered", "≥ 58", lambda v: v >= 58),
    ("node_latency_ms_p50", "`fer_node` latency p50, ms (10 Hz)", "", None),
    ("node_latency_ms_p99", "`fer_node` latency p99, ms (10 Hz)", "≤ 25", lambda v: v <= 25),
    ("node_cpu_ms_per_frame_30fps", "`fer_node` process CPU ms per frame, 30 Hz camera",
     "≤ 16.8: half of 33.6 measured before on this CPU (`epyc_avx2_2026-12-07.json`)",
     lambda v: v <= 16.8),
    ("peer_fer_fps", "the `fer` package, frames/s, same stream", "", None),
    ("peer_fer_speed_ratio", "fer_ros defaults / `fer`, same stream", "≥ 3", lambda v: v >= 3),
    ("peer_fer_speed_ratio_unrelated", "fer_ros / `fer`, unrelated frames", "", None),
)


def table(result: dict, source: str) -> str:
    env = result.get("environment", {})
    lines = [f"From `{source}` (`{result.get('command', 'fer-ros benchmark')}`), "
             f"{env.get('date', '?')}, {env.get('processor', '?')}, {env.get('cpu_count', '?')} "
             f"cores, load {env.get('load_average_1m_at_start', '?')} at start, "
             f"{env.get('threads', '?')} inference threads"
             f"{'; ' + result['headline'] if 'headline' in result else ''}:", "",
             "| key | what | measured | target (issue 15) |", "|---|---|---|---|"]
    for key, what, target, reached in ROWS:
        value = result.get(key)
        shown = f"null: {_null_reason(result, key)}" if value is None else f"{value:g}"
        verdict = "" if value is None or reached is None else \
            (" (reached)" if reached(value) else " (not reached)")
        lines.append(f"| `{key}` | {what} | **{shown}** | {target}{verdict} |")
    return "\n".join(lines) + "\n"


def _null_reason(result: dict, key: str) -> str:
    section = "fp32" if key.endswith("_fp32") else "core" if key.startswith("detect") \
        else key.split("_")[0]
    return str(result.get(f"{section}_null_reason", "not run"))


def replace(text: str, block: str) -> str | None:
    if BEGIN not in text or END not in text:
        return None
    head, rest = text.split(BEGIN, 1)
    return head + BEGIN + "\n" + block + END + rest.split(END, 1)[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", type=Path)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    source = args.json.resolve().relative_to(REPO) if args.json.resolve().is_relative_to(REPO) \
        else args.json
    block = table(json.loads(args.json.read_text()), str(source))
    if not (args.write or args.check):
        print(block, end="")
        return 0
    stale = []
    for path in FILES:
        text = path.read_text()
        new = replace(text, block)
        if new is None or new == text:
            continue
        if args.write:
            path.write_text(new)
            print(f"wrote {path.relative_to(REPO)}")
        else:
            stale.append(str(path.relative_to(REPO)))
    if stale:
        print(f"stale speed table in {', '.join(stale)}: run {Path(__file__).name} --write",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
