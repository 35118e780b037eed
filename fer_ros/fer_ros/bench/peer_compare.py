"""fer_ros vs. the `fer` PyPI package on the same frames: frames/s, detection recall, accuracy.

Two sets of 640x480 frames of three FER2013 PublicTest faces, each run by both:
- a camera stream (``stream``: clips of 10 frames of three faces moving,
  ``scenes.moving_stream``, another three in each clip): fer_ros at its defaults (tracking on, so the detector searches the whole frame every
  10th frame and follows the faces between), `fer` frame by frame as it always runs ->
  the headline peer_fer_fps and peer_fer_speed_ratio;
- unrelated frames (``unrelated``: distinct faces in every frame): fer_ros with tracking
  off, so both search and classify every frame independently -> the accuracy and
  detection comparison, and peer_fer_speed_ratio_unrelated.
The `fer` package runs in its own venv (tensorflow) in a subprocess, see ``peer_fer.py``.
Both are scored the same way as ``bag-eval --truth`` (greedy IoU >= 0.3 matching).
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from fer_ros.bag.truth import TruthFace, TruthScore
from fer_ros.bench import scenes
from fer_ros.bench.core_bench import network_precision
from fer_ros.core import paths
from fer_ros.core.fer2013 import FER2013_LABELS, FER2013_RELATIVE, sample_faces
from fer_ros.core.config import PipelineConfig
from fer_ros.core.pipeline import Pipeline
from fer_ros.core.types import Box

REPO = Path(__file__).resolve().parents[3]
PEER_PYTHON = REPO / ".venv-peer" / "bin" / "python"
PEER_SCRIPT = Path(__file__).with_name("peer_fer.py")
FACES_PER_FRAME = 3


def labelled_groups(groups: int, shared: Path | None = None) -> list:
    """``groups`` (3 PublicTest faces, their FER2013 label names), no face twice."""
    shared = shared or paths.shared_dir()
    images, labels = sample_faces(shared / FER2013_RELATIVE, "PublicTest",
                                  groups * FACES_PER_FRAME)
    return [(images[k * FACES_PER_FRAME:(k + 1) * FACES_PER_FRAME],
             [FER2013_LABELS[int(x)] for x in labels[k * FACES_PER_FRAME:
                                                     (k + 1) * FACES_PER_FRAME]])
            for k in range(groups)]


def labelled_scenes(count: int, shared: Path | None = None) -> list:
    """``count`` VGA scenes of 3 distinct labelled PublicTest faces each."""
    return [scenes.compose_frame(faces, names, (640, 480), (110, 170), seed=i)
            for i, (faces, names) in enumerate(labelled_groups(count, shared))]


def score(frames, found: list[list[tuple[Box, str]]], labels) -> dict:
    tally = TruthScore(labels)
    for scene, detections in zip(frames, found):
        truth = [TruthFace(b.as_tuple(), name) for b, name in zip(scene.boxes, scene.labels)]
        tally.add(truth, [b for b, _ in detections], [name for _, name in detections])
    r = tally.report()
    return {k: r[k] for k in ("truth_faces", "detected", "detection_recall", "accuracy",
                              "end_to_end_accuracy", "false_positives")}


def labelled_stream(count: int, shared: Path | None = None, clip_frames: int = 10) -> list:
    """``count`` frames of a camera: clips of ``clip_frames`` frames, each of 3 other
    labelled PublicTest faces moving (a new group every clip: a scene cut)."""
    frames = []
    for k, (faces, names) in enumerate(labelled_groups(max(1, -(-count // clip_frames)),
                                                        shared)):
        frames += scenes.moving_stream(faces, names, (640, 480), (110, 170), clip_frames,
                                       seed=k)
    return frames[:count]


def run_ours(frames, bundle, threads: int, warmup: int = 5, tracking: bool = False) -> dict:
    config = PipelineConfig.from_dict({
        "classifier": {"bundle": str(bundle or ""), "backend": "onnxruntime", "device": "cpu",
                       "threads": threads}, "tracker": {"enabled": tracking}})
    pipeline = Pipeline(config)
    for i in range(warmup):
        pipeline.process(frames[i % len(frames)].image)
    pipeline.reset_tracks()
    times, cpu, found = [], [], []
    for scene in frames:
        start, cpu_start = time.perf_counter(), time.process_time()
        result = pipeline.process(scene.image)
        times.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - cpu_start) * 1000.0)
        found.append([(f.box, f.label) for f in result.faces])
    return {"fps": round(1000.0 * len(times) / sum(times), 2),
            "network": network_precision(pipeline),
            "per_frame_ms_p50": round(float(np.median(times)), 2),
            "cpu_ms_per_frame": round(float(np.mean(cpu)), 2),
            **score(frames, found, pipeline.labels)}


def run_peer(frames, labels, python: Path = PEER_PYTHON, threads: int = 2,
             timeout_s: float = 900.0) -> dict:
    """The `fer` package in its venv; {"error": why} when it cannot run here."""
    if not Path(python).is_file():
        return {"error": f"peer interpreter {python} not found: create it with "
                         "scripts/setup_peer_venv.sh (tensorflow-cpu + fer)"}
    with tempfile.TemporaryDirectory() as tmp:
        npz, out = Path(tmp) / "frames.npz", Path(tmp) / "peer.json"
        np.savez(npz, frames=np.stack([s.image for s in frames]))
        done = subprocess.run([str(python), str(PEER_SCRIPT), str(npz),
                               str(out), "--threads", str(threads)], capture_output=True,
                              text=True, timeout=timeout_s)
        if done.returncode != 0:
            return {"error": f"peer_fer.py exited {done.returncode}: {done.stderr[-1500:]}"}
        peer = json.loads(out.read_text())
    found = [[(Box(*map(float, d["box"])), d["label"]) for d in frame]
             for frame in peer["detections"]]
    return {"fps": round(peer["fps"], 2),
            "per_frame_ms_p50": round(float(np.median(peer["per_frame_ms"])), 2),
            "cpu_ms_per_frame": round(float(np.mean(peer["per_frame_cpu_ms"])), 2),
            "fer_version": peer["fer_version"], "tensorflow_version": peer["tensorflow_version"],
            "detector": peer["detector"], "classifier": peer["classifier"],
            **score(frames, found, labels)}


def compare_with_peer(bundle, frames_count: int = 60, threads: int = 2,
                      python: Path = PEER_PYTHON) -> dict:
    result = {"frames": frames_count, "faces_per_frame": FACES_PER_FRAME,
              "frame": "640x480, FER2013 PublicTest faces"}
    for kind, frames, tracking in (("stream", labelled_stream(frames_count), True),
                                   ("unrelated", labelled_scenes(frames_count), False)):
        ours = run_ours(frames, bundle, threads, tracking=tracking)
        peer = run_peer(frames, FER2013_LABELS, python, threads)
        result[kind] = {"fer_ros": ours, "peer_fer": peer}
        suffix = "" if kind == "stream" else "_unrelated"
        if "error" in peer:
            result.update({f"peer_fer_fps{suffix}": None, f"peer_fer_speed_ratio{suffix}": None,
                           "peer_fer_null_reason": peer["error"]})
            continue
        # cpu ratio: CPU time per frame, all threads; unlike wall time it holds on a busy
        # machine
        result.update({f"peer_fer_fps{suffix}": peer["fps"],
                       f"peer_fer_speed_ratio{suffix}": round(ours["fps"] / peer["fps"], 2),
                       f"peer_fer_cpu_time_ratio{suffix}": round(
                           peer["cpu_ms_per_frame"] / ours["cpu_ms_per_frame"], 2)})
    return result
