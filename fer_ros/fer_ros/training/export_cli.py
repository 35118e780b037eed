"""Export a `fer-ros train` checkpoint as a model bundle (model.onnx + model.json).

    fer-ros export runs/ferplus_stage2/best.pt fer_ros/models/ferplus \\
        --name ferplus_resnet18 --version 2.0.0 --crop-margin 0.0

The export checks itself: PyTorch and ONNX Runtime must agree on every top-1 class
of real validation faces (max abs difference reported), else nothing is written.
The bundle's accuracy on the validation split is measured with ONNX Runtime.
"""
from __future__ import annotations

import argparse
import json

from fer_ros.core.cli_args import add_json_argument

HELP = "checkpoint -> verified ONNX model bundle"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="best.pt / last.pt written by `fer-ros train`")
    parser.add_argument("out_dir", help="bundle directory to write (created if missing)")
    parser.add_argument("--name", help="bundle name (default: <dataset>_<arch>)")
    parser.add_argument("--version", default="1.0.0", help="bundle version (default: 1.0.0)")
    parser.add_argument("--metrics-json", action="append", metavar="FILE",
                        help="`fer-ros evaluate --json` report whose numbers go into "
                        "model.json metrics as <dataset>_<split>_<name>; repeatable")
    parser.add_argument("--data", help="data of the checkpoint's validation split, for the "
                        "parity check and accuracy (default: FER2013 from $FER_ROS_SHARED or "
                        "../shared; other datasets: the path in the checkpoint's config)")
    parser.add_argument("--parity-faces", type=int, default=64,
                        help="real validation faces compared PyTorch vs ONNX (default 64)")
    parser.add_argument("--crop-margin", type=float,
                        help="runtime crop margin stored in model.json (default: the "
                        "training config's); measure it with python -m fer_ros.bench.crop_margin")
    parser.add_argument("--val-samples", type=int, default=0,
                        help="validation faces for the bundle's accuracy (0 = whole split)")
    add_json_argument(parser, "the result (bundle, parity check, metrics)")


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.cli_args import EXPECTED_ERRORS, report_error, write_json
    from fer_ros.training.export import ExportError, export_bundle
    try:
        result = export_bundle(args.checkpoint, args.out_dir, name=args.name,
                               version=args.version, metrics_json=args.metrics_json,
                               data=args.data, parity_faces=args.parity_faces,
                               val_samples=args.val_samples, crop_margin=args.crop_margin)
    except (ExportError, ValueError) as exc:  # a checkpoint that cannot be exported
        return report_error("export", exc, code=1)
    except EXPECTED_ERRORS as exc:
        return report_error("export", exc)
    summary = {"bundle": args.out_dir, "parity": result["parity"], "metrics": result["metrics"]}
    print(json.dumps(summary, indent=2))
    write_json(args.json, summary)
    return 0
