"""Which crop margin makes run-time crops look like the training crops?

    python -m fer_ros.bench.crop_margin --json out/crop_margin.json --faces 300

Training sees dataset crops (FER2013: 48x48, face filling the image); the runtime cuts a
square of side ``max(w, h) * (1 + 2 * crop_margin)`` around the detector box. This tool
pastes FER2013 PublicTest faces into VGA frames, detects them with the configured
detector, and reports (1) how the detector box relates to the pasted crop (the margin
that would reproduce it) and (2) the bundle's accuracy and its agreement with the
direct (training-style) prediction for several margins. Nothing is trained on these faces.
"""
from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np

from fer_ros.bench import module_parser, scenes
from fer_ros.core.cli_args import write_json
from fer_ros.core.bundle import load_bundle
from fer_ros.core.classify import OnnxRuntimeBackend
from fer_ros.core import paths
from fer_ros.core.fer2013 import FER2013_LABELS, FER2013_RELATIVE, sample_faces
from fer_ros.core.labels import LabelMatcher
from fer_ros.core.config import DetectorConfig
from fer_ros.core.detect import make_detector
from fer_ros.core.preprocess import face_to_tensor, preprocess_faces

MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2)


def detected_faces(images, labels, detector, per_frame: int = 3):
    """(frame, detector box, true box, label index, face index) for every detected face."""
    found = []
    for i in range(0, len(images) - per_frame + 1, per_frame):
        scene = scenes.compose_frame(images[i:i + per_frame], labels[i:i + per_frame],
                                     face_px=(110, 170), seed=i)
        detections, _ = detector.detect(scene.image)
        matches = scenes.match_boxes(scene.boxes, [d.box for d in detections])
        for k, j in enumerate(matches):
            if j is not None:
                found.append((scene.image, detections[j].box, scene.boxes[k],
                              int(labels[i + k]), i + k))
    return found


def run_crop_margin_study(bundle_path=None, faces: int = 300, margins=MARGINS,
                          detector: DetectorConfig | None = None, threads: int = 2) -> dict:
    bundle = load_bundle(bundle_path)
    backend = OnnxRuntimeBackend(bundle, "cpu", threads)
    csv_path = paths.shared_dir() / FER2013_RELATIVE
    images, fer_labels = sample_faces(csv_path, "PublicTest", faces)
    # FER2013 class -> the bundle's class index through the one synonym table, so that a
    # bundle with other classes or another order (ferplus) is scored right; -1: no match
    to_model = LabelMatcher(bundle.labels).indices(FER2013_LABELS)
    labels = np.array([-1 if to_model[i] is None else to_model[i] for i in fer_labels])
    spec = bundle.input_spec
    direct = backend.infer(np.stack([face_to_tensor(im, spec) for im in images])).argmax(1)
    cases = detected_faces(images, labels, make_detector(detector or DetectorConfig()))
    ratios = np.array([t.w / max(b.w, b.h) for _, b, t, _, _ in cases])
    truth = np.array([c[3] for c in cases])
    direct_found = direct[[c[4] for c in cases]]
    per_margin = []
    for margin in margins:
        mspec = dataclasses.replace(spec, crop_margin=float(margin))
        pred = np.array([backend.infer(preprocess_faces(img, [b.as_tuple()], mspec))[0].argmax()
                         for img, b, _, _, _ in cases])
        per_margin.append({"crop_margin": margin,
                           "accuracy": round(float((pred == truth).mean()), 4),
                           "agreement_with_direct": round(float((pred == direct_found).mean()), 4)})
    return {"bundle": {"name": bundle.name, "version": bundle.version,
                       "crop_margin": spec.crop_margin},
            "faces": len(images), "detected": len(cases),
            "direct_accuracy": round(float((direct == labels).mean()), 4),
            "crop_side_over_box_side": {"median": round(float(np.median(ratios)), 3),
                                        "p10": round(float(np.percentile(ratios, 10)), 3),
                                        "p90": round(float(np.percentile(ratios, 90)), 3)},
            "matching_margin": round(float((np.median(ratios) - 1) / 2), 3),
            "margins": per_margin}


def main(argv=None) -> int:
    parser = module_parser("fer_ros.bench.crop_margin", __doc__)
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--faces", type=int, default=300)
    args = parser.parse_args(argv)
    report = run_crop_margin_study(args.bundle, args.faces)
    write_json(args.json, report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
