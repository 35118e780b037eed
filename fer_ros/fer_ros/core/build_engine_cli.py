"""Build (or refresh) the TensorRT engine of a model bundle, once, on the robot.

    fer-ros build-engine /opt/ros/humble/share/fer_ros/models/default --precision fp16

The engine and its metadata JSON go next to model.onnx (or --cache-dir, or
~/.cache/fer_ros/engines when the bundle is read-only), exactly where the node's
build-on-first-use looks; a cached engine that still fits this GPU, TensorRT
version and network is reused unless --rebuild. INT8 needs a bundle made with
`fer-ros quantize BUNDLE OUT --activations int8`.
"""
from __future__ import annotations

import argparse
import json

HELP = "ONNX bundle -> TensorRT engine (FP16 default), cached beside the model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="model bundle directory (model.json + model.onnx)")
    parser.add_argument("--precision", choices=("fp16", "int8", "fp32"), default="fp16")
    parser.add_argument("--max-batch", type=int, default=16,
                        help="most faces per inference (optimisation profile 1..N)")
    parser.add_argument("--workspace-mb", type=int, default=1024,
                        help="TensorRT builder workspace limit in MiB (default 1024)")
    parser.add_argument("--cache-dir", help="where to write the engine (default: beside the "
                        "ONNX file)")
    parser.add_argument("--rebuild", action="store_true", help="build even if the cache fits")


def run(args: argparse.Namespace) -> int:
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.errors import FerError
    from fer_ros.core.tensorrt_backend import load_or_build, network_for, tensorrt_available
    try:
        bundle = load_bundle(args.bundle)
        available, reason = tensorrt_available()
        if not available:
            print(f"fer-ros build-engine: error: {reason}")
            return 1
        network, precision = network_for(bundle, args.precision)
        path, meta, built = load_or_build(network.network_path, precision, args.max_batch,
                                          args.workspace_mb, args.cache_dir, args.rebuild)
    except FerError as exc:
        print(f"fer-ros build-engine: error: {exc}")
        return 1
    print(json.dumps({"engine": str(path), "built_now": built, **meta}, indent=2))
    return 0
