"""Replay a bag's image topics through the inference core as fast as it runs.

    from fer_ros.bag.evaluate import evaluate_bag
    report = evaluate_bag("fer_ros/data/sample/fer_sample", out_dir="out/eval",
                          truth_path="fer_ros/data/sample/fer_sample.truth.json")

Each image topic gets its own :class:`Pipeline` (tracks belong to one camera). Results go to
a new bag (EmotionArray with the source header, logged at the source log time) and into a
report dict (JSON-ready): frames, faces, labels per track, per-stage latency percentiles,
frames/s and, with a truth sidecar, detection recall, accuracy and confusion matrices.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from fer_ros.bag.images import decode_frame, stamp_ns
from fer_ros.bag.reader import BagImageReader
from fer_ros.bag.truth import TruthScore, read_truth
from fer_ros.bag.writer import ResultBag, emotion_array, plan_emotion_topics
from fer_ros.core.config import PipelineConfig
from fer_ros.core.errors import InputError
from fer_ros.core.pipeline import Pipeline

PERCENTILES = (50, 90, 99)


def latency_stats(values_ms: Sequence[float]) -> dict:
    if not values_ms:
        return {"count": 0}
    v = np.asarray(values_ms, np.float64)
    stats = {f"p{p}": round(float(np.percentile(v, p)), 3) for p in PERCENTILES}
    return {"count": int(v.size), "mean": round(float(v.mean()), 3),
            "max": round(float(v.max()), 3), **stats}


@dataclass
class TopicStats:
    """Everything counted for one image topic."""

    msgtype: str
    emotions_topic: str
    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    bad_images: int = 0
    first_bad_image: str = ""
    busy_s: float = 0.0
    labels: Counter = field(default_factory=Counter)
    tracks: dict = field(default_factory=lambda: defaultdict(Counter))
    timings: dict = field(default_factory=lambda: defaultdict(list))

    def add(self, result, decode_ms: float, busy_s: float) -> None:
        self.frames += 1
        self.busy_s += busy_s
        self.faces += len(result.faces)
        self.frames_with_faces += bool(result.faces)
        self.timings["decode"].append(decode_ms)
        for stage, ms in result.timings_ms.items():
            self.timings[stage].append(ms)
        for face in result.faces:
            self.labels[face.label] += 1
            self.tracks[int(face.track_id)][face.label] += 1

    def report(self) -> dict:
        tracks = {str(tid): {"frames": sum(c.values()), "majority": c.most_common(1)[0][0],
                             "labels": dict(c.most_common())}
                  for tid, c in sorted(self.tracks.items())}
        return {
            "msgtype": self.msgtype, "emotions_topic": self.emotions_topic,
            "frames": self.frames, "frames_with_faces": self.frames_with_faces,
            "faces": self.faces, "bad_images": self.bad_images,
            "first_bad_image": self.first_bad_image,
            "fps": round(self.frames / self.busy_s, 2) if self.busy_s else 0.0,
            "label_counts": dict(self.labels.most_common()),
            "tracks": tracks,
            "latency_ms": {stage: latency_stats(v) for stage, v in self.timings.items()},
        }


def _pipeline_config(model: str | None, threads: int | None) -> PipelineConfig:
    classifier = {"backend": "onnxruntime", "device": "cpu"}
    if model:
        classifier["bundle"] = str(model)
    if threads:
        classifier["threads"] = int(threads)
    return PipelineConfig.from_dict({"classifier": classifier})


def evaluate_bag(bag: str | Path, out_dir: str | Path, topics: Sequence[str] | None = None,
                 truth_path: str | Path | None = None, model: str | None = None,
                 threads: int | None = None, iou_threshold: float = 0.3,
                 progress: bool | None = None, config: PipelineConfig | None = None) -> dict:
    """Run the pipeline over every image message; returns the report dict."""
    from tqdm import tqdm
    out_dir = Path(out_dir)
    reader = BagImageReader(bag, topics)
    truth = read_truth(truth_path) if truth_path else None
    result_path = out_dir / f"{Path(bag).name.removesuffix('.mcap')}_emotions"
    if result_path.exists():
        raise InputError(f"result bag {result_path} exists; remove it or choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    config = config or _pipeline_config(model, threads)
    plan = plan_emotion_topics([(t.topic, t.msgtype) for t in reader.topics])
    pipelines = {t.topic: Pipeline(config) for t in reader.topics}
    first = next(iter(pipelines.values()))
    stats = {t.topic: TopicStats(t.msgtype, plan[t.topic]) for t in reader.topics}
    scores = {t.topic: TruthScore(first.labels, iou_threshold) for t in reader.topics}
    writer = ResultBag(result_path, plan)
    start = time.perf_counter()
    try:
        for item in tqdm(reader, total=reader.total, unit="frame", desc=Path(bag).name,
                         disable=None if progress is None else not progress):
            _process(item, pipelines[item.topic], stats[item.topic], writer,
                     truth, scores[item.topic])
    finally:
        writer.close()
        reader.close()
    wall_s = time.perf_counter() - start
    report = {
        "bag": str(bag), "result_bag": str(result_path), "salvaged": reader.salvaged,
        "damage": reader.damage,
        "model": {"name": first.model_name, "version": first.model_version,
                  "backend": first.backend_name, "labels": list(first.labels)},
        "detector": first.detector.name,
        "frames": sum(s.frames for s in stats.values()),
        "faces": sum(s.faces for s in stats.values()),
        "wall_s": round(wall_s, 3),
        "topics": {topic: s.report() for topic, s in stats.items()},
    }
    report["fps"] = round(report["frames"] / wall_s, 2) if wall_s else 0.0
    if truth is not None:
        report["truth_file"] = str(truth_path)
        report["truth"] = {topic: s.report() for topic, s in scores.items()}
    for p in pipelines.values():
        p.close()
    return report


def _process(item, pipeline: Pipeline, stats: TopicStats, writer: ResultBag,
             truth, score: TruthScore) -> None:
    t0 = time.perf_counter()
    try:
        frame = decode_frame(item.msg, item.msgtype)
    except InputError as exc:  # one bad image must not end the evaluation
        stats.bad_images += 1
        stats.first_bad_image = stats.first_bad_image or f"at {item.log_time_ns} ns: {exc}"
        return
    decode_ms = (time.perf_counter() - t0) * 1000.0
    result = pipeline.process(frame)
    stats.add(result, decode_ms, time.perf_counter() - t0)
    header = item.msg.header
    writer.write(item.topic, item.log_time_ns,
                 emotion_array(result, header, pipeline.model_name, pipeline.model_version,
                               frame.shape))
    if truth is not None:
        faces = truth.get(stamp_ns(header))
        if faces is not None:
            score.add(faces, [f.box for f in result.faces], [f.label for f in result.faces])
