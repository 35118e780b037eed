"""How many placed faces each detector setting finds, by face size.

    python -m fer_ros.bench.detect_rate --json out/detect_rate.json --faces 150

FER2013 PublicTest faces are scaled to each size and pasted, three per VGA frame, at known
positions; a face counts as found when a detection's centre lies inside it with IoU >= 0.25.
Reported per detector setting and face size: the share found and the detections that match
no placed face. Use it to choose ``detect_max_side`` and ``score_threshold`` for a camera.
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

SIZES = (32, 48, 64, 96, 128, 160)
SETTINGS = {
    "yunet full frame": DetectorConfig(),
    "yunet detect_max_side 320": DetectorConfig(detect_max_side=320),
    "haar full frame": DetectorConfig(kind="haar"),
}


def rate(detector, images, side: int) -> dict:
    found = placed = false = 0
    for i in range(0, len(images) - 2, 3):
        scene = scenes.compose_frame(images[i:i + 3], [0, 0, 0], face_px=side, seed=i)
        detections, _ = detector.detect(scene.image)
        matches = scenes.match_boxes(scene.boxes, [d.box for d in detections])
        hits = sum(m is not None for m in matches)
        found, placed, false = found + hits, placed + 3, false + len(detections) - hits
    return {"face_px": side, "found": round(found / placed, 3), "placed": placed,
            "unmatched_detections": false}


def run_detect_rate(faces: int = 150, sizes=SIZES, settings=None) -> dict:
    csv_path = paths.shared_dir() / FER2013_RELATIVE
    images, _ = sample_faces(csv_path, "PublicTest", faces)
    report = {"faces": len(images), "frame": "640x480", "per_setting": {}}
    for name, config in (settings or SETTINGS).items():
        # min_face_size 1: measure what the detector can see, not the size filter
        detector = make_detector(DetectorConfig(**{**config.__dict__, "min_face_size": 1}))
        report["per_setting"][name] = [rate(detector, images, side) for side in sizes]
    return report


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
        print(name, " ".join(f"{r['face_px']}px:{r['found']:.0%}" for r in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
