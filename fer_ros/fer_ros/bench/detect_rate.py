"""Detection recall by face size: the default detector against full-resolution detection.

    python -m fer_ros.bench.detect_rate --json out/detect_rate.json --faces 150

Small to medium faces: FER2013 PublicTest faces scaled to 24..300 px and pasted at known
positions into VGA frames (3 per frame up to 160 px, fewer above, so they fit). Large
faces: CK+ faces scaled to 450..1000 px in 1920x1080 frames and to 1000 and 2500 px in
4000x3000 frames (a person close to the camera). A face counts as found when a
detection's centre lies inside it with IoU >= 0.25. Per setting and size: the share
found and the detections that match no placed face. ``fer-ros benchmark`` puts the same
table in its JSON (``detection_recall``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_ros.bench import scenes
from fer_ros.core import paths
from fer_ros.core.fer2013 import FER2013_RELATIVE, sample_faces
from fer_ros.core.config import DetectorConfig
from fer_ros.core.detect import make_detector

SIZES = (24, 32, 48, 64, 96, 128, 160, 200, 240, 300)
LARGE = (((1920, 1080), 450), ((1920, 1080), 600), ((1920, 1080), 800),
         ((1920, 1080), 1000), ((4000, 3000), 1000), ((4000, 3000), 2500))
#: the reference every default must match: one pass on the whole frame at full resolution
REFERENCE = "full resolution, one pass"
SETTINGS = {
    "defaults": DetectorConfig(),
    REFERENCE: DetectorConfig(large_faces=False),
    "detect_max_side 320": DetectorConfig(detect_max_side=320),
}


def faces_per_frame(side: int, frame=(640, 480)) -> int:
    """3 faces per frame while they fit easily at random positions, then 2, then 1."""
    return 3 if side * 5 <= frame[0] else 2 if side * 3.5 <= frame[0] else 1


def rate(detector, images, side: int, frame=(640, 480)) -> dict:
    found = placed = false = 0
    per = faces_per_frame(side, frame)
    for i in range(0, len(images) - per + 1, per):
        scene = scenes.compose_frame(images[i:i + per], [0] * per, frame, face_px=side, seed=i)
        detections, _ = detector.detect(scene.image)
        matches = scenes.match_boxes(scene.boxes, [d.box for d in detections])
        hits = sum(m is not None for m in matches)
        found, placed, false = found + hits, placed + per, false + len(detections) - hits
    return {"face_px": side, "frame": f"{frame[0]}x{frame[1]}", "found": round(found / placed, 3),
            "placed": placed, "unmatched_detections": false}


def _detectors(settings: dict) -> dict:
    # min_face_size 1: measure what the detector can see, not the size filter
    return {name: make_detector(DetectorConfig(**{**config.__dict__, "min_face_size": 1}))
            for name, config in settings.items()}


def run_detect_rate(faces: int = 150, sizes=SIZES, settings=None, large=LARGE,
                    large_faces: int = 10) -> dict:
    shared = paths.shared_dir()
    images, _ = sample_faces(shared / FER2013_RELATIVE, "PublicTest", faces)
    detectors = _detectors(settings or SETTINGS)
    report = {"faces": len(images), "reference": REFERENCE, "per_setting": {}}
    for name, detector in detectors.items():
        report["per_setting"][name] = [rate(detector, images, side) for side in sizes]
    if large:
        ck, _ = scenes.ckplus_faces(shared / scenes.CKPLUS_RELATIVE, per_class=3)
        for name in ("defaults", REFERENCE):
            if name in detectors:
                report["per_setting"][name] += [
                    rate(detectors[name], ck[:large_faces if frame[0] < 3000 else 3], side, frame)
                    for frame, side in large]
    report["lost_vs_reference"] = lost_recall(report)
    return report


def lost_recall(report: dict, min_px: int = 32) -> dict:
    """Per setting, the (frame, size) rows >= ``min_px`` where it finds fewer faces than
    the reference (negative = fewer): the figure the defaults must keep empty."""
    rows = report["per_setting"]
    ref = {(r["frame"], r["face_px"]): r["found"] for r in rows.get(REFERENCE, [])}
    return {name: {f"{r['frame']} {r['face_px']}px": round(r["found"] - ref[key], 3)
                   for r in table if (key := (r["frame"], r["face_px"])) in ref
                   and r["face_px"] >= min_px and r["found"] < ref[key]}
            for name, table in rows.items() if name != REFERENCE}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_ros.bench.detect_rate",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True)
    parser.add_argument("--faces", type=int, default=150)
    args = parser.parse_args(argv)
    report = run_detect_rate(args.faces)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    for name, rows in report["per_setting"].items():
        print(name, " ".join(f"{r['frame']}/{r['face_px']}px:{r['found']:.0%}" for r in rows))
    print("lost vs reference:", report["lost_vs_reference"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
