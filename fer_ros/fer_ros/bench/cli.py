"""The figures the README quotes, in one JSON file, with the machine they ran on.

    fer-ros benchmark --json benchmarks/latest.json
    fer-ros benchmark --json /tmp/smoke.json --tiny     # seconds-long smoke run
    fer-ros benchmark --json out.json --repeat 3        # headline keys: medians of 3 runs

Sections (each also sets its headline keys at the top level):
- core: per-stage latency and frames/s on 640x480 frames with 1, 3 and 10 real faces at
  the node's defaults (backend auto: the bundle's INT8 network on CPU; default detector
  and its schedule) on a camera stream of moving faces -> detect_classify_fps_vga_3faces;
  the same 3 faces on unrelated frames (a new scene every frame, a full search each)
  -> detect_classify_fps_vga_3faces_unrelated;
- fp32: the same with classifier.precision fp32 -> detect_classify_fps_vga_3faces_fp32;
- recall: detection recall by face size (24..300 px in VGA, 450..2500 px in 1080p and
  4000x3000) at defaults against one full-resolution pass -> detection_recall;
- node: the installed fer_node (its defaults) through real DDS (probe process -> fer_node
  process -> probe) -> node_dds_fps, node_latency_ms_p50, node_latency_ms_p99 (end to
  end; with --node-rep155 also node_rep155: REP-155 + vision_msgs outputs off / on),
  node_cpu_ms_per_frame_30fps (CPU time of the node process per frame while a 30 Hz
  camera streams 3 faces);
- peer: the `fer` PyPI package (Haar + mini-Xception, in .venv-peer) on the same frames as
  fer_ros: a camera stream with fer_ros at its defaults -> peer_fer_fps,
  peer_fer_speed_ratio (fer_ros fps / fer fps); unrelated frames with fer_ros searching
  every frame -> peer_fer_speed_ratio_unrelated, and both accuracies.
A section that cannot run here sets its keys to null with a ``*_null_reason``; no number
is ever made up.
"""
from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from fer_ros.bench import medians
from fer_ros.core.cli_args import add_json_argument, add_model_argument, write_json

HELP = "measure speed (core, node over DDS, recall, the fer package) into one JSON file"
HEADLINE_KEYS = ("detect_classify_fps_vga_3faces", "detect_classify_fps_vga_3faces_unrelated",
                 "detect_classify_fps_vga_3faces_fp32",
                 "node_dds_fps", "node_latency_ms_p50", "node_latency_ms_p99",
                 "node_cpu_ms_per_frame_30fps", "peer_fer_fps", "peer_fer_speed_ratio")
SECTIONS = ("core", "fp32", "recall", "node", "peer")
#: the keys --repeat reports as medians
REPEATED_KEYS = HEADLINE_KEYS + ("peer_fer_speed_ratio_unrelated",)
NODE_KEYS = ("node_dds_fps", "node_latency_ms_p50", "node_latency_ms_p99",
             "node_cpu_ms_per_frame_30fps")


def add_arguments(parser) -> None:
    add_json_argument(parser, "the results (every section, machine info)", required=True)
    add_model_argument(parser, "model bundle directory (its fp32 and INT8 networks); default: "
                       "the installed default bundle")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for inference")
    parser.add_argument("--frames", type=int, default=200, help="timed frames per core case")
    parser.add_argument("--node-seconds", type=float, default=10.0,
                        help="length of each node phase (throughput, latency)")
    parser.add_argument("--node-rep155", action="store_true",
                        help="also run the node twice, REP-155 + vision_msgs outputs off and "
                             "on -> node_rep155 section")
    parser.add_argument("--peer-frames", type=int, default=60,
                        help="frames for the fer-package comparison (3 faces each)")
    parser.add_argument("--peer-python", type=Path, help="interpreter with `fer` installed "
                        "(default: .venv-peer/bin/python)")
    parser.add_argument("--skip", nargs="+", default=[], choices=SECTIONS,
                        help="sections to leave out (their keys are null)")
    parser.add_argument("--repeat", type=int, default=1, choices=range(1, 11),
                        metavar="N", help="run every section N times (1-10); the headline keys "
                        "are the medians, each run's under 'repeats' (a VM's speed drifts)")
    parser.add_argument("--tiny", action="store_true",
                        help="a seconds-long smoke run (few frames): checks, not figures")


def _core(args, precision: str) -> dict:
    from fer_ros.bench.core_bench import run_core_benchmark
    frames, warmup = (5, 2) if args.tiny else (args.frames, 20)
    return run_core_benchmark(args.model, face_counts=(1, 3, 10), frames=frames,
                              warmup=warmup, threads=args.threads, detect_max_sides=(0,),
                              backend="auto", device="auto", precision=precision)


def _fps_3faces(core: dict, frames: str = "stream") -> float | None:
    for case in core["pipeline"]:
        if case["faces_per_frame"] == 3 and case["detect_max_side"] == 0 \
                and case.get("frames", "unrelated") == frames:
            return case["fps"]
    return None


def _recall(args) -> dict:
    from fer_ros.bench.detect_rate import run_detect_rate
    if args.tiny:
        return run_detect_rate(9, sizes=(32, 96), large=(((1920, 1080), 800),),
                               large_faces=3, stream_frames=8)
    return run_detect_rate(90)


def _node_stream() -> list:
    """The node's camera: 3 real faces moving, 90 frames looped forwards and back."""
    from fer_ros.bench.core_bench import make_stream
    from fer_ros.core import paths
    from fer_ros.core.fer2013 import FER2013_RELATIVE, sample_faces
    images, _ = sample_faces(paths.shared_dir() / FER2013_RELATIVE, "PublicTest", 30)
    return make_stream(images[10:], 3, frames=90)


def _section(results: dict, name: str, keys: tuple, run) -> None:
    """Run one section; on failure record why and null its keys (never a made-up figure)."""
    start = time.monotonic()
    try:
        run()
    except Exception as exc:  # a missing part must not lose the other sections' figures
        print(f"[benchmark] {name} failed: {exc}", file=sys.stderr)
        results[name] = {"error": f"{type(exc).__name__}: {exc}",
                         "traceback": traceback.format_exc(limit=5)}
        for key in keys:
            results[key] = None
        results[f"{name}_null_reason"] = f"{type(exc).__name__}: {exc}"
    results.setdefault("section_seconds", {})[name] = round(time.monotonic() - start, 1)


def run(args) -> int:
    runs = []
    for number in range(args.repeat):
        if args.repeat > 1:
            print(f"[benchmark] run {number + 1} of {args.repeat}", file=sys.stderr)
        runs.append(_measure(args))
    results = _median_of(runs) if len(runs) > 1 else runs[0]
    write_json(args.json, results)
    print(json.dumps({k: results[k] for k in HEADLINE_KEYS}, indent=1))
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


def _median_of(runs: list) -> dict:
    """The last run's sections; the headline keys as the median over the runs (None where a
    run has none), and every run's headline keys under ``repeats``."""
    results = dict(runs[-1])
    results["repeats"] = [{key: run.get(key) for key in REPEATED_KEYS} for run in runs]
    results.update(medians(runs, REPEATED_KEYS))
    results["headline"] = f"median of {len(runs)} runs (each run's figures: repeats)"
    return results


def _measure(args) -> dict:
    """One pass through the sections: every figure of one run."""
    from fer_ros.bench.core_bench import _environment
    results: dict = {"benchmark": "fer_ros", "command": " ".join(["fer-ros"] + sys.argv[1:]),
                     "tiny": args.tiny, "environment": _environment(args.threads)}
    results.update({key: None for key in HEADLINE_KEYS})
    for name, precision, key in (("core", "auto", "detect_classify_fps_vga_3faces"),
                                 ("fp32", "fp32", "detect_classify_fps_vga_3faces_fp32")):
        if name not in args.skip:
            keys = (key, f"{key}_unrelated") if name == "core" else (key,)

            def core(name=name, precision=precision, keys=keys):
                results[name] = _core(args, precision)
                for key, frames in zip(keys, ("stream", "unrelated")):
                    results[key] = _fps_3faces(results[name], frames)
            _section(results, name, keys, core)
    if "recall" not in args.skip:
        def recall():
            results["detection_recall"] = _recall(args)
        _section(results, "recall", (), recall)
    if "node" not in args.skip:
        def node():
            from fer_ros.bench.node_bench import run_node_benchmark
            frames = [s.image for s in _node_stream()]
            seconds = 3.0 if args.tiny else args.node_seconds
            results["node"] = run_node_benchmark(frames, seconds=seconds)
            for key in NODE_KEYS:
                results[key] = results["node"][key]
            if args.node_rep155:
                from fer_ros.bench.node_bench import run_rep155_comparison
                results["node_rep155"] = run_rep155_comparison(frames, seconds)
        _section(results, "node", NODE_KEYS, node)
    if "peer" not in args.skip:
        def peer():
            from fer_ros.bench.peer_compare import PEER_PYTHON, compare_with_peer
            results["peer"] = compare_with_peer(args.model, 6 if args.tiny else args.peer_frames,
                                                args.threads, args.peer_python or PEER_PYTHON)
            for key in ("peer_fer_fps", "peer_fer_speed_ratio", "peer_fer_speed_ratio_unrelated",
                        "peer_fer_null_reason"):
                if key in results["peer"]:
                    results[key] = results["peer"][key]
        _section(results, "peer", ("peer_fer_fps", "peer_fer_speed_ratio"), peer)
    for name in args.skip:
        results[f"{name}_null_reason"] = "skipped with --skip"
    return results
