"""The node with its periodic whole-frame search beside the frames vs in the frame.

    python -m fer_ros.bench.search_in_background --json benchmarks/search_in_background.json

Runs the installed fer_node through real DDS (:func:`node_bench.run_node_benchmark`, the
node's camera stream of 3 faces) with ``pipeline.detector.full_detection_in_background``
true (the default) and false, interleaved ``--repeats`` times so that a slow spell of the
machine hits both. Per run: latency p50/p99 at 10 frames/s, node CPU ms per frame at 30 Hz,
node_dds_fps at 60 offered; medians per setting.
"""
from __future__ import annotations

import sys

from fer_ros.bench import medians, module_parser
from fer_ros.core.cli_args import write_json

KEYS = ("node_latency_ms_p50", "node_latency_ms_p99", "node_cpu_ms_per_frame_30fps",
        "node_dds_fps")
SETTING = "pipeline.detector.full_detection_in_background"


def run(repeats: int = 3, seconds: float = 10.0) -> dict:
    from fer_ros.bench.cli import _node_stream
    from fer_ros.bench.node_bench import run_node_benchmark
    frames = [scene.image for scene in _node_stream()]
    runs = {"background": [], "in_frame": []}
    for _ in range(repeats):
        for name, value in (("background", True), ("in_frame", False)):
            result = run_node_benchmark(frames, seconds=seconds, parameters={SETTING: value})
            runs[name].append({key: result[key] for key in KEYS})
            print(name, runs[name][-1], flush=True)
    return {"setting": SETTING, "repeats": repeats, "seconds_per_phase": seconds,
            "median": {name: medians(rows, KEYS) for name, rows in runs.items()},
            "runs": runs}


def main(argv=None) -> int:
    parser = module_parser("fer_ros.bench.search_in_background", __doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    args = parser.parse_args(argv)
    report = run(args.repeats, args.seconds)
    write_json(args.json, report)
    print(report["median"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
