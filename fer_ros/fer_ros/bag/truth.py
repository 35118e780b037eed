"""Ground-truth sidecar of a bag, and matching detections to it.

Format (JSON, ``format_version`` 1)::

    {
      "format": "fer_ros.truth",
      "format_version": 1,
      "labels": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
      "source": "free text: where the labels come from",
      "frames": [
        {"stamp_ns": 1763000000000000000,
         "faces": [{"box": [x, y, w, h], "label": "happy", "source": "fer2013:PublicTest:17"}]},
        {"stamp_ns": 1763000000066666667, "faces": []}
      ]
    }

``stamp_ns`` is the image header stamp (sec * 1e9 + nanosec), the same for every image topic
of the bag. ``box`` is in source-image pixels (top-left corner, width, height). A frame listed
with ``"faces": []`` is known to show no face (detections there are false positives); frames
not listed are not scored. ``labels`` and ``source`` of a face are optional; labels are matched
to the model's through :mod:`fer_ros.core.labels`, so "happiness" scores as "happy".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from fer_ros.core.errors import InputError
from fer_ros.core.labels import LabelMatcher
from fer_ros.core.types import Box

FORMAT = "fer_ros.truth"
FORMAT_VERSION = 1
MISSED = "(missed)"


@dataclass
class TruthFace:
    box: tuple[float, float, float, float]
    label: str
    source: str = ""


@dataclass
class TruthFrame:
    stamp_ns: int
    faces: list[TruthFace] = field(default_factory=list)


def sidecar_path(bag: Path) -> Path:
    """Where the sidecar of a bag directory goes by default: ``<bag>.truth.json``."""
    bag = Path(bag)
    return bag.with_name(bag.name + ".truth.json")


def write_truth(path: Path, frames: Sequence[TruthFrame], labels: Sequence[str],
                source: str = "") -> None:
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "labels": list(labels),
           "source": source,
           "frames": [{"stamp_ns": f.stamp_ns,
                       "faces": [{"box": [float(v) for v in face.box], "label": face.label,
                                  **({"source": face.source} if face.source else {})}
                                 for face in f.faces]}
                      for f in frames]}
    Path(path).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def _bad(path: Path, what: str) -> InputError:
    return InputError(f"truth file {path}: {what}; see the format in fer_ros/bag/truth.py "
                      "or docs/bag.md")


def read_truth(path: Path) -> dict[int, list[TruthFace]]:
    """stamp_ns -> faces, validated; InputError naming the file and the bad entry."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"truth file {path} not found") from None
    except json.JSONDecodeError as exc:
        raise _bad(path, f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _bad(path, f'"format" must be "{FORMAT}"')
    if doc.get("format_version") != FORMAT_VERSION:
        raise _bad(path, f"format_version {doc.get('format_version')!r} is not supported "
                         f"(this version reads {FORMAT_VERSION})")
    frames: dict[int, list[TruthFace]] = {}
    for i, entry in enumerate(doc.get("frames", [])):
        try:
            faces = [TruthFace(_box(face["box"]), str(face["label"]), str(face.get("source", "")))
                     for face in entry["faces"]]
            frames[int(entry["stamp_ns"])] = faces
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(path, f"frames[{i}] is malformed ({exc!r}); each frame needs "
                             '"stamp_ns" and "faces": [{"box": [x, y, w, h], "label": ...}]') from None
    return frames


def _box(values) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in values)
    if w <= 0 or h <= 0:
        raise ValueError(f"box {values} has no area")
    return x, y, w, h


def match_faces(truth: Sequence[TruthFace], boxes: Sequence[Box],
                iou_threshold: float) -> list[tuple[int, int | None]]:
    """Greedy one-to-one matching by IoU: (truth index, detection index or None) per truth face.

    Pairs are taken best IoU first, so a detection between two faces goes to the one it
    overlaps most; detections left over are false positives.
    """
    pairs = sorted(((Box(*t.box).iou(b), ti, di) for ti, t in enumerate(truth)
                    for di, b in enumerate(boxes)), reverse=True)
    taken_t: dict[int, int] = {}
    taken_d: set[int] = set()
    for iou, ti, di in pairs:
        if iou < iou_threshold:
            break
        if ti not in taken_t and di not in taken_d:
            taken_t[ti] = di
            taken_d.add(di)
    return [(ti, taken_t.get(ti)) for ti in range(len(truth))]


@dataclass
class TruthScore:
    """Running score of a bag against its truth, per image topic."""

    labels: Sequence[str]
    iou_threshold: float = 0.3
    true_idx: list[int] = field(default_factory=list)
    pred_idx: list[int] = field(default_factory=list)  # len(labels) = missed
    frames_scored: int = 0
    false_positives: int = 0
    unknown_labels: int = 0

    def __post_init__(self) -> None:
        self.matcher = LabelMatcher(self.labels)

    def add(self, truth: Sequence[TruthFace], boxes: Sequence[Box], predicted: Sequence[str]):
        self.frames_scored += 1
        matched = 0
        for ti, di in match_faces(truth, boxes, self.iou_threshold):
            t = self.matcher.index(truth[ti].label)
            if t is None:
                self.unknown_labels += 1
                continue
            self.true_idx.append(t)
            if di is None:
                self.pred_idx.append(len(self.labels))
            else:
                matched += 1
                self.pred_idx.append(list(self.labels).index(predicted[di]))
        self.false_positives += len(boxes) - matched

    def report(self) -> dict:
        """Detection recall, classification accuracy on matched faces, end-to-end accuracy."""
        from fer_ros.core.metrics import classification_report
        k = len(self.labels)
        pairs = [(t, p) for t, p in zip(self.true_idx, self.pred_idx) if p < k]
        faces, detected = len(self.true_idx), len(pairs)
        correct = sum(t == p for t, p in pairs)
        return {
            "iou_threshold": self.iou_threshold,
            "frames_scored": self.frames_scored,
            "truth_faces": faces,
            "detected": detected,
            "missed": faces - detected,
            "false_positives": self.false_positives,
            "unknown_truth_labels": self.unknown_labels,
            "unmatched_label_names": self.matcher.unmatched_message(),
            "detection_recall": detected / faces if faces else 0.0,
            # accuracy of the classifier on faces the detector found: comparable to the
            # model's test accuracy on dataset crops
            "accuracy": correct / detected if detected else 0.0,
            # a missed face counts as wrong
            "end_to_end_accuracy": correct / faces if faces else 0.0,
            "classification": classification_report(
                [t for t, _ in pairs], [p for _, p in pairs], self.labels),
            "with_missed": classification_report(
                self.true_idx, self.pred_idx, self.labels, extra_columns=(MISSED,)),
        }
