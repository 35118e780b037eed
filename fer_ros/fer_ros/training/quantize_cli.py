"""Static INT8 quantisation of a model bundle for CPU robots (ONNX Runtime).

    fer-ros quantize --model fer_ros/models/ferplus --max-drop 1.0   # adds model.int8.onnx
    fer-ros quantize --model fer_ros/models/ferplus out/bundle_copy  # a copy, both networks

Calibrates on real FER2013 Training faces, measures fp32 vs int8 accuracy on the
validation split and the CPU speed-up (batch 1 and 8), and refuses (exit 3, no
bundle written) when int8 loses more than --max-drop accuracy points, unless --force.
"""
from __future__ import annotations

import argparse
import json

from fer_ros.core.cli_args import (EXIT_PARTIAL, EXIT_USAGE, add_json_argument,
                                   add_model_argument)

HELP = "add an INT8 network to a bundle (accuracy and speed-up measured)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser, "model bundle to add the INT8 network to; default: the "
                       "installed default bundle")
    parser.add_argument("out_dir", nargs="?", default=None,
                        help="write a copy of the bundle with both networks here (default: "
                        "add the int8 network to the bundle itself)")
    parser.add_argument("--data", help="FER2013 csv(.gz) (default: $FER_ROS_SHARED or "
                        "../shared datasets/fer2013/fer2013.csv.gz)")
    parser.add_argument("--calib-faces", type=int, default=512,
                        help="Training faces used for calibration (default 512)")
    parser.add_argument("--val-faces", type=int, default=0,
                        help="validation faces for the accuracy comparison (0 = whole split)")
    parser.add_argument("--max-drop", type=float, default=1.0,
                        help="largest accepted accuracy loss in points (default 1.0)")
    parser.add_argument("--force", action="store_true",
                        help="write the int8 bundle even when it loses more than --max-drop")
    parser.add_argument("--activations", choices=("uint8", "int8"), default="uint8",
                        help="uint8: fastest in ONNX Runtime on x86 (default); int8: "
                        "symmetric, needed by `fer-ros build-engine --precision int8`")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for timing")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per batch size")
    add_json_argument(parser, "the measurements (accuracy fp32/int8, speed-up)")


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.bundle import default_bundle_path
    from fer_ros.core.cli_args import report_error, write_json
    from fer_ros.training.export import DEFAULT_DATA
    from fer_ros.training.quantize import QuantizeError, quantize_bundle
    try:
        report = quantize_bundle(args.model or default_bundle_path(), args.out_dir,
                                 data=args.data or DEFAULT_DATA,
                                 calib_faces=args.calib_faces, val_faces=args.val_faces,
                                 max_drop=args.max_drop, force=args.force,
                                 threads=args.threads, runs=args.runs,
                                 activations=args.activations)
        code = 0
    except QuantizeError as exc:
        if not exc.report:  # refused before measuring: a wrong argument
            return report_error("quantize", exc, EXIT_USAGE)
        # measured and refused: the numbers still go out
        report, code = exc.report, report_error("quantize", f"refused: {exc}", EXIT_PARTIAL)
    print(json.dumps(report, indent=2))
    if report:
        write_json(args.json, report)
    return code
