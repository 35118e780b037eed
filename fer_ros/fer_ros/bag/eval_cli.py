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

from pathlib import Path

from fer_ros.core.cli_args import (EXIT_PARTIAL, add_json_argument, add_model_argument,
                                   report_error, write_json)

HELP = "evaluate a rosbag2's image topics offline (report + EmotionArray result bag)"
EXIT_DAMAGED = EXIT_PARTIAL


def add_arguments(parser) -> None:
    parser.add_argument("bag", type=Path, help="rosbag2 directory (mcap or sqlite3) or .mcap file")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for the result bag and report.json")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC",
                        help="image topics to evaluate (default: all image topics)")
    parser.add_argument("--truth", type=Path, help="ground-truth sidecar (.truth.json)")
    add_json_argument(parser, "the report (also written to <out>/report.json)")
    add_model_argument(parser)
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
    except FerError as exc:  # an unreadable bag, a missing topic or truth file, a bad model
        return report_error("bag-eval", exc)
    write_json(args.out / "report.json", report)
    write_json(args.json, report)
    print(format_summary(report))
    if report["damage"]:
        return report_error("bag-eval", f"{report['damage']} (results up to the damage)",
                            EXIT_DAMAGED)
    return 0
