"""Following faces and classifying them less often vs doing both every frame, end to end,
on camera clips of real faces.

    python -m fer_ros.bench.stream_accuracy --json results/stream_accuracy.json

150 clips of 30 frames, each of 3 FER2013 PublicTest faces (60-170 px) moving 6 px per frame
in VGA (``scenes.moving_stream``), run through the pipeline with
(``detector.full_detection_interval``, ``tracker.classify_interval``) = (1, 1): search and
classify every frame; (5, 1) and (10, 1): the detection schedule alone, the whole frame
searched every 5th or 10th frame (the default); (5, 2), (10, 2) and (10, 3): with a
followed face classified every 2nd (the default) or 3rd frame. 150 clips (450 faces,
13,500 face-frames): with 50, settings within 0.5 points swapped places between runs of
slightly different code. Per setting: the share of face-frames found (a box centred in the
placed face, IoU >= 0.25), the accuracy of the labels on those against FER2013's (through
the label synonym table), the share of frames that got a full search, faces classified per
frame, and the mean detection and classification times.
"""
from __future__ import annotations

import sys

import numpy as np

from fer_ros.bench import module_parser, scenes
from fer_ros.bench.peer_compare import labelled_groups
from fer_ros.core.cli_args import write_json
from fer_ros.core.config import PipelineConfig
from fer_ros.core.labels import canonical_label
from fer_ros.core.pipeline import Pipeline

#: (full_detection_interval, classify_interval) settings compared
SETTINGS = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))


def run(clips: int = 150, frames: int = 30, bundle: str = "") -> dict:
    streams = [scenes.moving_stream(faces, names, face_px=(60, 170), frames=frames,
                                    speed_px=6, seed=k)
               for k, (faces, names) in enumerate(labelled_groups(clips))]
    report = {"clips": clips, "frames_per_clip": frames, "faces_per_frame": 3,
              "face_px": [60, 170], "speed_px_per_frame": 6, "defaults": _defaults(),
              "per_setting": {}}
    for search, classify in SETTINGS:
        pipeline = Pipeline(PipelineConfig.from_dict({
            "classifier": {"bundle": bundle},
            "detector": {"full_detection_interval": search},
            "tracker": {"classify_interval": classify}}))
        report["model"] = f"{pipeline.model_name} {pipeline.model_version}"
        report["per_setting"][_name(search, classify)] = _score(pipeline, streams)
    return report


def _name(search: int, classify: int) -> str:
    return f"full_detection_interval {search}, classify_interval {classify}"


def _defaults() -> str:
    config = PipelineConfig()
    return _name(config.detector.full_detection_interval, config.tracker.classify_interval)


def _score(pipeline: Pipeline, streams) -> dict:
    placed = found = correct = full = frames = classified = 0
    detect_ms, classify_ms = [], []
    for clip in streams:
        pipeline.reset_tracks()
        for scene in clip:
            result = pipeline.process(scene.image)
            detect_ms.append(result.timings_ms["detect"])
            classify_ms.append(result.timings_ms["classify"])
            frames, full = frames + 1, full + result.full_detection
            classified += result.faces_classified
            matches = scenes.match_boxes(scene.boxes, [f.box for f in result.faces])
            for truth, match in zip(scene.labels, matches):
                placed += 1
                if match is not None:
                    found += 1
                    correct += canonical_label(result.faces[match].label) == \
                        canonical_label(truth)
    return {"found": round(found / placed, 4), "accuracy_on_found": round(correct / found, 4),
            "end_to_end_accuracy": round(correct / placed, 4), "face_frames": placed,
            "full_search_share": round(full / frames, 3),
            "faces_classified_per_frame": round(classified / frames, 2),
            "detect_ms_mean": round(float(np.mean(detect_ms)), 2),
            "classify_ms_mean": round(float(np.mean(classify_ms)), 2)}


def main(argv=None) -> int:
    parser = module_parser("fer_ros.bench.stream_accuracy", __doc__)
    parser.add_argument("--clips", type=int, default=150)
    parser.add_argument("--bundle", default="", help="model bundle (default: the default)")
    args = parser.parse_args(argv)
    report = run(args.clips, bundle=args.bundle)
    write_json(args.json, report)
    for name, row in report["per_setting"].items():
        print(f"{name}: {row}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
