"""The figures the README quotes, in one JSON file, with the machine they ran on.

    fer-ros benchmark --json benchmarks/latest.json
    fer-ros benchmark --json /tmp/smoke.json --tiny     # seconds-long smoke run

Sections (each also sets its headline keys at the top level):
- core: per-stage latency and frames/s on 640x480 frames with 1, 3 and 10 real faces,
  ONNX Runtime fp32, and INT8 when an INT8 bundle is given or can be made (`fer-ros
  quantize`) -> detect_classify_fps_vga_3faces, detect_classify_fps_vga_3faces_int8;
- node: the installed fer_node through real DDS (probe process -> fer_node process ->
  probe) -> node_dds_fps, node_latency_ms_p50, node_latency_ms_p99 (end to end); with
  --node-rep155 also node_rep155: the same with the REP-155 + vision_msgs outputs off / on;
- peer: the `fer` PyPI package (Haar + mini-Xception, in .venv-peer) on the same frames as
  fer_ros -> peer_fer_fps, peer_fer_speed_ratio (fer_ros fps / fer fps), and both accuracies.
A section that cannot run here sets its keys to null with a ``*_null_reason``; no number
is ever made up.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

HELP = "measure speed (core, node over DDS, INT8, the fer package) into one JSON file"
HEADLINE_KEYS = ("detect_classify_fps_vga_3faces", "detect_classify_fps_vga_3faces_int8",
                 "node_dds_fps", "node_latency_ms_p50", "node_latency_ms_p99",
                 "peer_fer_fps", "peer_fer_speed_ratio")


def add_arguments(parser) -> None:
    parser.add_argument("--json", type=Path, required=True, help="write the results here")
    parser.add_argument("--bundle", help="fp32 model bundle (default: the packaged one)")
    parser.add_argument("--int8-bundle",
                        help="INT8 bundle (default: quantize --bundle into a temp folder)")
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
    parser.add_argument("--skip", nargs="+", default=[], choices=("core", "int8", "node", "peer"),
                        help="sections to leave out (their keys are null)")
    parser.add_argument("--tiny", action="store_true",
                        help="a seconds-long smoke run (few frames): checks, not figures")


def _core(args, bundle, label: str) -> dict:
    from fer_ros.bench.core_bench import run_core_benchmark
    frames, warmup = (5, 2) if args.tiny else (args.frames, 20)
    return run_core_benchmark(bundle, face_counts=(1, 3, 10), frames=frames, warmup=warmup,
                              threads=args.threads, detect_max_sides=(0,) if args.tiny
                              else (0, 320))


def _fps_3faces(core: dict) -> float | None:
    for case in core["pipeline"]:
        if case["faces_per_frame"] == 3 and case["detect_max_side"] == 0:
            return case["fps"]
    return None


def _int8_bundle(args, tmp: Path) -> tuple[str | None, str | None]:
    """(INT8 bundle path, None) or (None, why there is none)."""
    if args.int8_bundle:
        return args.int8_bundle, None
    from fer_ros.core.bundle import default_bundle_path
    from fer_ros.training.quantize import quantize_bundle
    source = args.bundle or str(default_bundle_path())
    report = quantize_bundle(source, tmp / "int8", calib_faces=64 if args.tiny else 512,
                             val_faces=100 if args.tiny else 1000, force=True,
                             threads=args.threads, runs=3 if args.tiny else 20,
                             log=lambda m: print(f"[quantize] {m}", file=sys.stderr))
    if not report.get("written"):
        return None, f"quantize wrote no bundle: {report}"
    return str(tmp / "int8"), None


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
    from fer_ros.bench.core_bench import _environment
    results: dict = {"benchmark": "fer_ros", "command": " ".join(["fer-ros"] + sys.argv[1:]),
                     "tiny": args.tiny, "environment": _environment(args.threads)}
    results.update({key: None for key in HEADLINE_KEYS})
    with tempfile.TemporaryDirectory() as tmp:
        if "core" not in args.skip:
            def core():
                results["core"] = _core(args, args.bundle, "fp32")
                results["detect_classify_fps_vga_3faces"] = _fps_3faces(results["core"])
            _section(results, "core", ("detect_classify_fps_vga_3faces",), core)
        if "int8" not in args.skip:
            def int8():
                path, why = _int8_bundle(args, Path(tmp))
                if path is None:
                    raise RuntimeError(why)
                results["core_int8"] = _core(args, path, "int8")
                results["detect_classify_fps_vga_3faces_int8"] = _fps_3faces(results["core_int8"])
            _section(results, "int8", ("detect_classify_fps_vga_3faces_int8",), int8)
    if "node" not in args.skip:
        def node():
            from fer_ros.bench.node_bench import run_node_benchmark
            from fer_ros.bench.peer_compare import labelled_scenes
            frames = [s.image for s in labelled_scenes(10)]
            seconds = 3.0 if args.tiny else args.node_seconds
            results["node"] = run_node_benchmark(frames, seconds=seconds)
            for key in ("node_dds_fps", "node_latency_ms_p50", "node_latency_ms_p99"):
                results[key] = results["node"][key]
            if args.node_rep155:
                from fer_ros.bench.node_bench import run_rep155_comparison
                results["node_rep155"] = run_rep155_comparison(frames, seconds)
        _section(results, "node", ("node_dds_fps", "node_latency_ms_p50",
                                   "node_latency_ms_p99"), node)
    if "peer" not in args.skip:
        def peer():
            from fer_ros.bench.peer_compare import PEER_PYTHON, compare_with_peer
            results["peer"] = compare_with_peer(args.bundle, 6 if args.tiny else args.peer_frames,
                                                args.threads, args.peer_python or PEER_PYTHON)
            for key in ("peer_fer_fps", "peer_fer_speed_ratio", "peer_fer_null_reason"):
                if key in results["peer"]:
                    results[key] = results["peer"][key]
        _section(results, "peer", ("peer_fer_fps", "peer_fer_speed_ratio"), peer)
    for name in args.skip:
        results[f"{name}_null_reason"] = "skipped with --skip"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: results[k] for k in HEADLINE_KEYS}, indent=1))
    print(f"wrote {args.json}", file=sys.stderr)
    return 0
