"""Plain result types of the inference core (no ROS, no torch)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Box:
    """Axis-aligned face box in source-image pixels (top-left corner, width, height)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)

    def iou(self, other: "Box") -> float:
        """Intersection over union; 0 for disjoint or empty boxes."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clipped(self, width: int, height: int) -> "Box":
        """The part of the box inside a width x height image (may be empty: w or h 0)."""
        x0, y0 = min(max(self.x, 0.0), width), min(max(self.y, 0.0), height)
        x1 = min(max(self.x + self.w, 0.0), width)
        y1 = min(max(self.y + self.h, 0.0), height)
        return Box(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class Detection:
    """One face found by a detector: its box and the detector's confidence in [0, 1]."""

    box: Box
    score: float


@dataclass
class FaceEmotion:
    """One classified face of a frame.

    ``scores`` holds float32 probabilities in the order of ``FrameResult.labels``;
    ``label``/``confidence`` are its arg-max (after tracking smoothing when on).
    ``track_id`` is stable across frames while the tracker follows the face
    (-1 when tracking is off).
    """

    box: Box
    detector_score: float
    track_id: int
    label: str
    confidence: float
    scores: np.ndarray


@dataclass
class FrameResult:
    """Everything the pipeline found in one frame, with per-stage timings in ms.

    ``dropped_faces`` counts detected faces beyond the ``max_faces`` cap (not classified).
    """

    faces: list[FaceEmotion]
    labels: tuple[str, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
    dropped_faces: int = 0
    full_detection: bool = True  # False: faces followed, only changed parts searched
    faces_classified: int = -1   # faces run through the classifier (-1: not reported);
    # fewer than len(faces) when followed faces were off their turn (classify_interval)
