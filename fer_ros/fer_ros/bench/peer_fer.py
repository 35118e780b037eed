"""Time the `fer` PyPI package (Haar cascade + mini-Xception) on given frames.

Runs in the peer venv (.venv-peer: tensorflow + fer), never in fer_ros' own environment,
so it imports nothing from fer_ros. ``fer-ros benchmark`` writes the frames to an .npz,
starts this script with the peer interpreter and reads its JSON:

    .venv-peer/bin/python fer_ros/fer_ros/bench/peer_fer.py FRAMES.npz OUT.json --warmup 5

Output: {"fer_version", "tensorflow_version", "per_frame_ms": [...], "per_frame_cpu_ms",
         "fps",
         "detections": [[{"box": [x, y, w, h], "label": str, "scores": {...}}, ...], ...]}
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frames", help=".npz with a uint8 array 'frames' (N, H, W, 3) BGR")
    parser.add_argument("out", help="JSON file to write")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import fer
    from fer.fer import FER  # fer 25.x: the class lives in fer.fer

    frames = np.load(args.frames)["frames"]
    detector = FER(mtcnn=False)  # Haar cascade + mini-Xception: the package's default
    for i in range(args.warmup):
        detector.detect_emotions(frames[i % len(frames)])
    per_frame, cpu, detections = [], [], []
    for frame in frames:
        start, cpu_start = time.perf_counter(), time.process_time()
        found = detector.detect_emotions(frame)
        per_frame.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - cpu_start) * 1000.0)
        detections.append([{"box": [int(v) for v in d["box"]],
                            "label": max(d["emotions"], key=d["emotions"].get),
                            "scores": {k: float(v) for k, v in d["emotions"].items()}}
                           for d in found])
    result = {"fer_version": fer.__version__, "tensorflow_version": tf.__version__,
              "detector": "haar (fer default, mtcnn=False)",
              "classifier": "mini-Xception (fer default)",
              "per_frame_ms": per_frame, "per_frame_cpu_ms": cpu,
              "fps": len(per_frame) * 1000.0 / sum(per_frame) if per_frame else 0.0,
              "detections": detections}
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
