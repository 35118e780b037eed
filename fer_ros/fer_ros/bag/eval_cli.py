"""Replay a rosbag2's image topics through the emotion pipeline, as fast as it runs.

    fer-ros bag-eval fer_ros/data/sample/fer_sample --out out/eval \\
        --truth fer_ros/data/sample/fer_sample.truth.json

Reads every sensor_msgs/Image and CompressedImage topic (or --topics), writes
<out>/<bag>_emotions (rosbag2 mcap, fer_ros_msgs/EmotionArray on <camera namespace>/emotions
with the source header stamps) and <out>/report.json, and prints a summary. With --truth
(format: docs/bag.md) it also scores detection recall, accuracy and the confusion matrix.
A truncated or damaged bag is evaluated up to the damage; exit status 3 then.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = "evaluate a rosbag2's image topics offline (report + EmotionArray result bag)"
EXIT_DAMAGED = 3


def add_arguments(parser) -> None:
    parser.add_argument("bag", type=Path, help="rosbag2 directory (mcap or sqlite3) or .mcap file")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for the result bag and report.json")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC",
                        help="image topics to evaluate (default: all image topics)")
    parser.add_argument("--truth", type=Path, help="ground-truth sidecar (.truth.json)")
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    parser.add_argument("--model", help="model bundle directory (default: the packaged one)")
    parser.add_argument("--threads", type=int, help="classifier CPU threads")
    parser.add_argument("--iou", type=float, default=0.3,
                        help="IoU at which a detection matches a truth box (default 0.3)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from fer_ros.bag.evaluate import evaluate_bag
    from fer_ros.bag.report import format_summary
    from fer_ros.core.errors import FerError
    try:
        report = evaluate_bag(args.bag, args.out, topics=args.topics, truth_path=args.truth,
                              model=args.model, threads=args.threads, iou_threshold=args.iou,
                              progress=False if args.no_progress else None)
    except FerError as exc:
        print(f"fer-ros bag-eval: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=1) + "\n"
    (args.out / "report.json").write_text(text, encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text, encoding="utf-8")
    print(format_summary(report))
    if report["damage"]:
        print(f"fer-ros bag-eval: {report['damage']}", file=sys.stderr)
        return EXIT_DAMAGED
    return 0
