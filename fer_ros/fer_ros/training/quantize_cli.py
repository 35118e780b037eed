"""Static INT8 quantisation of a model bundle for CPU robots (ONNX Runtime).

    fer-ros quantize fer_ros/models/default --max-drop 1.0      # adds model.int8.onnx
    fer-ros quantize fer_ros/models/default /tmp/bundle_copy     # a copy with both networks

Calibrates on real FER2013 Training faces, measures fp32 vs int8 accuracy on the
validation split and the CPU speed-up (batch 1 and 8), and refuses (exit 2, no
bundle written) when int8 loses more than --max-drop accuracy points, unless --force.
"""
from __future__ import annotations

import argparse
import json

HELP = "add an INT8 network to a bundle (accuracy and speed-up measured)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="fp32 model bundle directory (model.json + model.onnx)")
    parser.add_argument("out_dir", nargs="?", default=None,
                        help="write a copy of the bundle with both networks here (default: "
                        "add the int8 network to BUNDLE itself)")
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
    parser.add_argument("--report-json", help="also write the measurements to this file")


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.errors import FerError
    from fer_ros.training.export import DEFAULT_DATA, ExportError
    from fer_ros.training.quantize import QuantizeError, quantize_bundle
    try:
        report = quantize_bundle(args.bundle, args.out_dir, data=args.data or DEFAULT_DATA,
                                 calib_faces=args.calib_faces, val_faces=args.val_faces,
                                 max_drop=args.max_drop, force=args.force,
                                 threads=args.threads, runs=args.runs,
                                 activations=args.activations)
        code = 0
    except QuantizeError as exc:
        print(f"fer-ros quantize: refused: {exc}")
        report, code = exc.report, 2
    except (FerError, ExportError, FileNotFoundError, ValueError) as exc:
        print(f"fer-ros quantize: error: {exc}")
        return 1
    text = json.dumps(report, indent=2)
    print(text)
    if args.report_json and report:
        with open(args.report_json, "w") as handle:
            handle.write(text + "\n")
    return code
