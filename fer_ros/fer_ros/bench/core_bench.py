"""Inference-core benchmark: per-stage latency and frames/s on VGA frames of real faces.

    python -m fer_ros.bench.core_bench --json out/core_bench.json
    python -m fer_ros.bench.core_bench --json out.json --frames 100 --threads 2 --bundle DIR

Frames are 640x480, composed from FER2013 PublicTest faces (1, 3 and 10 faces each, so
the detector and the classifier see real faces). The pipeline sees what a camera gives:
a stream of the same faces moving (``scenes.moving_stream``, 150 frames played forwards
and back), so at defaults the whole frame is searched every 10th frame and faces are
found again near where they were in between (``core/detect_schedule.py``). The 3-face
case is also run on unrelated frames (a new scene each frame: every frame a full
search, the worst case). For each face count and each detector resolution the full
pipeline (detect -> preprocess -> classify -> track) runs ``frames`` times after
``warmup`` frames; stage timings are reported as mean, median and p90 in ms, throughput
as frames/s = frames / wall-clock seconds of the timed loop (so the whole-frame searches
the pipeline runs on its background thread count). The classifier alone is timed on a
batch of 8 real faces, and each detector kind alone on 3-face frames.
``cpu_ms`` is the CPU time the process used (all threads): on a busy machine wall-clock
latency includes waiting for a core, CPU time does not. ``run_core_benchmark`` returns
the same dict that ``--json`` writes (``fer-ros benchmark`` calls it).
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from fer_ros.bench import module_parser, scenes
from fer_ros.core.bundle import load_bundle
from fer_ros.core import paths
from fer_ros.core.fer2013 import FER2013_RELATIVE, sample_faces
from fer_ros.core.cli_args import write_json
from fer_ros.core.config import DetectorConfig, PipelineConfig
from fer_ros.core.cpu_features import x86_without_vnni
from fer_ros.core.detect import make_detector
from fer_ros.core.pipeline import Pipeline
from fer_ros.core.preprocess import face_to_tensor

VGA = (640, 480)
# 10 faces must fit in VGA without overlapping: smaller faces for crowded frames
FACE_PX = {1: (120, 200), 3: (110, 170), 10: (70, 100)}
DISTINCT_FRAMES = 20  # cycled, so the numbers are not one lucky image
STREAM_FRAMES = 150   # a 5 s clip at 30 Hz, looped forwards and back


def _stats(values) -> dict:
    a = np.asarray(values, np.float64)
    return {"mean": round(float(a.mean()), 3), "median": round(float(np.median(a)), 3),
            "p90": round(float(np.percentile(a, 90)), 3)}


def _face_px(count: int):
    return FACE_PX.get(count, (70, 100) if count > 3 else (110, 170))


def make_frames(images, count: int, distinct: int = DISTINCT_FRAMES) -> list:
    """``distinct`` VGA scenes with ``count`` real faces each."""
    frames = []
    for i in range(distinct):
        pick = [images[(i * count + k) % len(images)] for k in range(count)]
        frames.append(scenes.compose_frame(pick, [0] * count, VGA, _face_px(count), seed=i))
    return frames


def make_stream(images, count: int, frames: int = STREAM_FRAMES) -> list:
    """A camera clip of ``count`` real faces moving, looped forwards and back (no jump)."""
    pick = [images[k % len(images)] for k in range(count)]
    clip = scenes.moving_stream(pick, [0] * count, VGA, _face_px(count), frames, seed=count)
    return clip + clip[::-1]


def time_pipeline(pipeline: Pipeline, frames, iterations: int, warmup: int) -> dict:
    """Run the pipeline over ``frames`` (cycled); per-stage stats and frames/s.

    frames/s and the mean CPU ms per frame are over the whole loop (wall clock, process
    CPU time), so work the pipeline does on its background thread between calls counts."""
    for i in range(warmup):
        pipeline.process(frames[i % len(frames)].image)
    per_stage: dict[str, list] = {}
    found, cpu, full = [], [], 0
    loop_start, loop_cpu = time.perf_counter(), time.process_time()
    for i in range(iterations):
        cpu_start = time.process_time()
        result = pipeline.process(frames[i % len(frames)].image)
        cpu.append((time.process_time() - cpu_start) * 1000.0)
        for stage, ms in result.timings_ms.items():
            per_stage.setdefault(stage, []).append(ms)
        found.append(len(result.faces))
        full += result.full_detection
    elapsed, loop_cpu = time.perf_counter() - loop_start, time.process_time() - loop_cpu
    return {"stages_ms": {k: _stats(v) for k, v in per_stage.items()},
            "fps": round(iterations / elapsed, 1),
            "cpu_ms_per_frame": {**_stats(cpu), "mean": round(1000.0 * loop_cpu / iterations, 3)},
            "faces_found_mean": round(float(np.mean(found)), 2),
            "full_detection_share": round(full / iterations, 3)}


def time_classifier(pipeline: Pipeline, images, batch: int, iterations: int,
                    warmup: int) -> dict:
    """The classifier backend alone on ``batch`` preprocessed real faces."""
    spec = pipeline.bundle.input_spec
    x = np.stack([face_to_tensor(images[i % len(images)], spec) for i in range(batch)])
    for _ in range(warmup):
        pipeline.backend.infer(x)
    times, cpu = [], []
    for _ in range(iterations):
        start, cpu_start = time.perf_counter(), time.process_time()
        pipeline.backend.infer(x)
        times.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - cpu_start) * 1000.0)
    return {"batch": batch, "latency_ms": _stats(times), "cpu_ms": _stats(cpu),
            "faces_per_s": round(batch * 1000.0 / float(np.mean(times)), 1)}


def time_detectors(frames, iterations: int, warmup: int, threads: int,
                   kinds=("yunet", "yunet_opencv", "haar")) -> dict:
    """Detection alone on full VGA frames, per detector kind (same thread budget)."""
    report = {}
    for kind in kinds:
        detector = make_detector(DetectorConfig(kind=kind, threads=threads))
        for i in range(warmup):
            detector.detect(frames[i % len(frames)].image)
        wall, cpu = [], []
        for i in range(iterations):
            start, cpu_start = time.perf_counter(), time.process_time()
            detector.detect(frames[i % len(frames)].image)
            wall.append((time.perf_counter() - start) * 1000.0)
            cpu.append((time.process_time() - cpu_start) * 1000.0)
        report[kind] = {"latency_ms": _stats(wall), "cpu_ms": _stats(cpu)}
    return report


def network_precision(pipeline: Pipeline) -> str:
    """Which of the bundle's networks the classifier runs (fp32, int8, fp16)."""
    return getattr(getattr(pipeline.backend, "bundle", None), "precision", "unknown")


def _environment(threads: int) -> dict:
    import onnxruntime as ort
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"python": platform.python_version(), "machine": platform.machine(),
            "processor": _cpu_name(), "cpu_count": os.cpu_count(),
            "load_average_1m_at_start": round(load[0], 2) if load else None,
            "x86_int8_without_vnni": x86_without_vnni(),  # INT8 runs slower without VNNI
            "opencv": cv2.__version__, "onnxruntime": ort.__version__,
            "threads": threads,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def run_core_benchmark(bundle_path: str | Path | None = None, face_counts=(1, 3, 10),
                       frames: int = 200, warmup: int = 20, threads: int = 2,
                       detect_max_sides=(0, 320), classify_batch: int = 8,
                       shared_dir: str | Path | None = None, backend: str = "onnxruntime",
                       device: str = "cpu", precision: str = "auto") -> dict:
    """Measure the inference core; returns a JSON-ready dict (see module docstring)."""
    cv2.setNumThreads(threads)  # YuNet runs in OpenCV's DNN module: same thread budget
    shared = Path(shared_dir) if shared_dir else paths.shared_dir()
    images, _ = sample_faces(shared / FER2013_RELATIVE, "PublicTest", 200)
    bundle = load_bundle(bundle_path)
    report = {"benchmark": "fer_ros core", "environment": _environment(threads),
              "model": {"name": bundle.name, "version": bundle.version,
                        "arch": bundle.metadata.get("arch"),
                        "input": f"{bundle.input_spec.channels}x{bundle.input_spec.size}x"
                                 f"{bundle.input_spec.size}"},
              "settings": {"frame": f"{VGA[0]}x{VGA[1]}", "frames": frames, "warmup": warmup,
                           "faces_source": "FER2013 PublicTest (first 200 faces)"},
              "pipeline": [], "classifier": {}}
    for max_side in detect_max_sides:
        config = PipelineConfig.from_dict({
            "detector": {"detect_max_side": max_side},
            "classifier": {"backend": backend, "device": device, "threads": threads,
                           "precision": precision},
            "tracker": {"enabled": True}})
        pipeline = Pipeline(config, bundle)
        report["backend"] = pipeline.backend_name
        report["network"] = network_precision(pipeline)
        cases = [(count, "stream") for count in face_counts] + \
            [(3, "unrelated")] * (3 in face_counts)
        for count, kind in cases:
            clip = make_stream(images, count) if kind == "stream" else make_frames(images, count)
            pipeline.reset_tracks()
            result = time_pipeline(pipeline, clip, frames, warmup)
            result.update({"faces_per_frame": count, "detect_max_side": max_side,
                           "frames": kind})
            report["pipeline"].append(result)
            print(f"{count:>2} faces, {kind}, detect_max_side {max_side or 'full'}: "
                  f"{result['fps']} frames/s, total "
                  f"{result['stages_ms']['total']['median']} ms median", file=sys.stderr)
    report["detectors_3_faces_full_frame"] = time_detectors(make_frames(images, 3), frames,
                                                            warmup, threads)
    report["classifier"] = time_classifier(pipeline, images, classify_batch, frames, warmup)
    print(f"classifier batch {classify_batch}: "
          f"{report['classifier']['latency_ms']['median']} ms median", file=sys.stderr)
    return report


def main(argv=None) -> int:
    parser = module_parser("fer_ros.bench.core_bench", __doc__)
    parser.add_argument("--bundle", default=None, help="model bundle dir (default: packaged)")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--faces", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--detect-max-side", type=int, nargs="+", default=[0, 320],
                        help="detector resolutions to compare (0 = full frame)")
    parser.add_argument("--batch", type=int, default=8, help="classifier-only batch size")
    parser.add_argument("--backend", default="onnxruntime",
                        choices=["auto", "onnxruntime", "tensorrt", "torch"])
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"],
                        help="network of the bundle (auto: int8 on CPU when it has one)")
    args = parser.parse_args(argv)
    report = run_core_benchmark(args.bundle, tuple(args.faces), args.frames, args.warmup,
                                args.threads, tuple(args.detect_max_side), args.batch,
                                backend=args.backend, device=args.device,
                                precision=args.precision)
    write_json(args.json, report)
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
