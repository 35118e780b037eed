"""Build (or refresh) the TensorRT engine of a model bundle, once, on the robot.

    fer-ros build-engine --model "$(ros2 pkg prefix fer_ros)/share/fer_ros/models/ferplus" --precision fp16

The engine and its metadata JSON go next to model.onnx (or --cache-dir, or
~/.cache/fer_ros/engines when the bundle is read-only), exactly where the node's
build-on-first-use looks; a cached engine that still fits this GPU, TensorRT
version and network is reused unless --rebuild. INT8 needs a bundle made with
`fer-ros quantize BUNDLE OUT --activations int8`.
"""
from __future__ import annotations

import argparse
import json

from fer_ros.core.cli_args import add_json_argument, add_model_argument
from fer_ros.core.config import PRECISIONS

HELP = "ONNX bundle -> TensorRT engine (FP16 default), cached beside the model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("--precision", choices=[p for p in PRECISIONS if p != "auto"],
                        default="fp16",
                        help="engine precision, what the node's pipeline.classifier.precision "
                        "auto picks on a GPU (fp16); int8 needs `fer-ros quantize "
                        "--activations int8`")
    parser.add_argument("--max-batch", type=int, default=16,
                        help="most faces per inference (optimisation profile 1..N)")
    parser.add_argument("--workspace-mb", type=int, default=1024,
                        help="TensorRT builder workspace limit in MiB (default 1024)")
    parser.add_argument("--cache-dir", help="where to write the engine (default: beside the "
                        "ONNX file)")
    parser.add_argument("--rebuild", action="store_true", help="build even if the cache fits")
    add_json_argument(parser, "the engine path and its metadata")


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.cli_args import EXIT_FAILURE, report_error, write_json
    from fer_ros.core.errors import FerError
    from fer_ros.core.tensorrt_backend import load_or_build, network_for, tensorrt_available
    try:
        bundle = load_bundle(args.model)
        available, reason = tensorrt_available()
        if not available:
            return report_error("build-engine", reason, EXIT_FAILURE)
        network, precision = network_for(bundle, args.precision)
        path, meta, built = load_or_build(network.network_path, precision, args.max_batch,
                                          args.workspace_mb, args.cache_dir, args.rebuild)
    except FerError as exc:  # nothing the command line could fix: a build or load failure
        return report_error("build-engine", exc, EXIT_FAILURE)
    result = {"engine": str(path), "built_now": built, **meta}
    print(json.dumps(result, indent=2))
    write_json(args.json, result)
    return 0
