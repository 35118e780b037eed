"""Detection recall by face size: the default detector against full-resolution detection.

    python -m fer_ros.bench.detect_rate --json out/detect_rate.json --faces 150

Small to medium faces: FER2013 PublicTest faces scaled to 24..300 px and pasted at known
positions into VGA frames (3 per frame up to 160 px, fewer above, so they fit). Large
faces: CK+ faces scaled to 450..1000 px in 1920x1080 frames and to 1000 and 2500 px in
4000x3000 frames (a person close to the camera). A face counts as found when a
detection's centre lies inside it with IoU >= 0.25. Per setting and size: the share
found and the detections that match no placed face. ``fer-ros benchmark`` puts the same
table in its JSON (``detection_recall``).

On a stream (``full_detection_interval`` > 1, the default, searches the whole frame only
every Nth frame and follows faces between) recall is measured on moving faces:
:func:`stream_recall` runs the defaults and the defaults searching every frame
(``STREAM_REFERENCE``) over the same frames (faces moving 0.1 and 0.25 of their side per
frame) and counts the faces each finds in every frame.
"""
from __future__ import annotations

import dataclasses
import sys

from fer_ros.bench import module_parser, scenes
from fer_ros.core import paths
from fer_ros.core.fer2013 import FER2013_RELATIVE, sample_faces
from fer_ros.core.config import DetectorConfig
from fer_ros.core.detect import make_detector
from fer_ros.core.cli_args import write_json
from fer_ros.core.detect_schedule import DetectionSchedule

SIZES = (24, 32, 48, 64, 96, 128, 160, 200, 240, 300)
LARGE = (((1920, 1080), 450), ((1920, 1080), 600), ((1920, 1080), 800),
         ((1920, 1080), 1000), ((4000, 3000), 1000), ((4000, 3000), 2500))
#: the reference every default must match: one pass on the whole frame at full resolution
REFERENCE = "full resolution, one pass"
STREAM_SPEEDS = (0.1, 0.25)  # face sides per frame: slow (standing, turning) and walking
STREAM_LARGE = (((1920, 1080), 800),)
STREAM_REFERENCE = "defaults, whole frame searched every frame"
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


def _measuring(config: DetectorConfig):
    """The detector of ``config`` with min_face_size 1: what it can see, not the size filter."""
    return make_detector(dataclasses.replace(config, min_face_size=1))


def _detectors(settings: dict) -> dict:
    return {name: _measuring(config) for name, config in settings.items()}


def run_detect_rate(faces: int = 150, sizes=SIZES, settings=None, large=LARGE,
                    large_faces: int = 10, stream_frames: int = 60) -> dict:
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
    if stream_frames:
        ck = scenes.ckplus_faces(shared / scenes.CKPLUS_RELATIVE, per_class=1)[0] \
            if large else []
        report["stream"] = stream_recall(images, sizes, stream_frames, large=STREAM_LARGE
                                         if large else (), ck=ck)
        report["stream_found_32px_and_larger"] = stream_totals(report["stream"])
        report["stream_lost_vs_reference"] = stream_lost(report["stream"])
    return report


def stream_recall(images, sizes=SIZES, frames: int = 60, speeds=STREAM_SPEEDS,
                  large=STREAM_LARGE, ck=(), clips: int = 4) -> list:
    """Per size and speed: the share of face-frames found at defaults and by the same
    detector searching every frame, on the same moving faces: ``clips`` clips of
    ``frames / clips`` frames, other people in each (one hard face must not decide a row)."""
    rows = []
    cases = [(side, (640, 480), images) for side in sizes] + \
        [(side, frame, ck) for frame, side in large if len(ck)]
    for side, frame, faces in cases:
        per = min(faces_per_frame(side, frame), len(faces))
        for speed in speeds:
            streams = []
            for k in range(clips):
                first = (side * 7 + k * per) % (len(faces) - per + 1)  # other people
                streams.append(scenes.moving_stream(
                    faces[first:first + per], [0] * per, frame, side,
                    max(2, frames // clips), speed_px=speed * side, seed=side + k))
            row = {"face_px": side, "frame": f"{frame[0]}x{frame[1]}",
                   "speed_sides_per_frame": speed,
                   "face_frames": sum(len(c) * per for c in streams), "clips": clips}
            for name, config in (("defaults", DetectorConfig()),
                                 (STREAM_REFERENCE, DetectorConfig(full_detection_interval=1))):
                row[name] = _stream_found(config, streams)
            rows.append(row)
    return rows


def _stream_found(config: DetectorConfig, streams) -> dict:
    schedule = DetectionSchedule(_measuring(config))
    found = full = placed = 0
    for clip in streams:
        schedule.reset()  # a new clip: other people
        for scene in clip:
            detections, _, was_full = schedule.detect(scene.image, stream=True)
            matches = scenes.match_boxes(scene.boxes, [d.box for d in detections])
            found += sum(m is not None for m in matches)
            placed += len(scene.boxes)
            full += was_full
    return {"found": round(found / placed, 3), "full_passes": full}


def stream_totals(rows, min_px: int = 32) -> dict:
    """Face-frames found over every stream row with faces >= ``min_px``, per setting: the
    rows are small samples (a face the detector finds in some frames and not others moves
    a row by a few points either way), their total is the comparison that holds."""
    totals = {}
    for name in ("defaults", STREAM_REFERENCE):
        found = sum(r[name]["found"] * r["face_frames"] for r in rows if r["face_px"] >= min_px)
        placed = sum(r["face_frames"] for r in rows if r["face_px"] >= min_px)
        totals[name] = round(found / placed, 4) if placed else None
    return totals


def stream_lost(rows, min_px: int = 32) -> dict:
    """The stream rows >= ``min_px`` where the defaults find fewer face-frames than the
    same detector searching every frame (negative = fewer)."""
    return {f"{r['frame']} {r['face_px']}px @{r['speed_sides_per_frame']}":
            round(r["defaults"]["found"] - r[STREAM_REFERENCE]["found"], 3)
            for r in rows if r["face_px"] >= min_px
            and r["defaults"]["found"] < r[STREAM_REFERENCE]["found"]}


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
    parser = module_parser("fer_ros.bench.detect_rate", __doc__)
    parser.add_argument("--faces", type=int, default=150)
    args = parser.parse_args(argv)
    report = run_detect_rate(args.faces)
    write_json(args.json, report)
    for name, rows in report["per_setting"].items():
        print(name, " ".join(f"{r['frame']}/{r['face_px']}px:{r['found']:.0%}" for r in rows))
    print("lost vs reference:", report["lost_vs_reference"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
