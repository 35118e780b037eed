"""The detector interface every face detector implements, and where the YuNet model is.

Apart from :mod:`fer_ros.core.detect` (the OpenCV detectors and :func:`make_detector`) so
that :mod:`fer_ros.core.yunet_ort` can subclass it without an import cycle.
"""
from __future__ import annotations

import abc
import dataclasses
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.config import DetectorConfig
from fer_ros.core.errors import ConfigError, ModelError
from fer_ros.core.image import check_frame
from fer_ros.core.paths import YUNET_RELATIVE, find_model_file
from fer_ros.core.types import Box, Detection


LARGE_PASS_TOP_PX = 320   # a larger-face pass scales its largest face to this side
LARGE_PASS_RANGE = 3.0    # ... and covers faces down to 1/3 of that (YuNet: 107..320 px)


class FaceDetector(abc.ABC):
    """Finds faces in uint8 BGR or gray frames."""

    name = "detector"
    #: largest face side (px in the detector's input) one pass finds reliably; None: the
    #: detector is multi-scale itself (Haar) and needs no larger-face passes
    max_face_px: int | None = None

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config

    def detect(self, image: np.ndarray) -> tuple[list[Detection], int]:
        """All faces of a frame, best first, at most ``max_faces``; plus how many were cut."""
        return self.detect_checked(check_frame(image))

    def detect_checked(self, image: np.ndarray) -> tuple[list[Detection], int]:
        """:meth:`detect` for a frame :func:`check_frame` already passed (the pipeline's)."""
        height, width = image.shape[:2]
        small, scale = self._downscaled(image)
        raw = [(*(v / scale for v in row[:4]), row[4]) for row in self._detect_raw(small, scale)]
        passes = self.large_face_scales(height, width, scale)
        for extra in passes:
            size = (max(1, round(width * extra)), max(1, round(height * extra)))
            reduced = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            raw += [(*(v / extra for v in row[:4]), row[4])
                    for row in self._detect_raw(reduced, extra)]
        if passes:
            raw = self._merge(raw)
        return self._finish(raw, width, height)

    def large_face_scales(self, height: int, width: int, scale: float) -> list[float]:
        """Scales of the extra passes that find faces larger than the first pass can, up
        to the frame's shorter side (empty when the first pass already covers it)."""
        if not self.config.large_faces or self.max_face_px is None:
            return []
        side, covered, scales = min(height, width), self.max_face_px / scale, []
        while covered < side:
            covered = min(side, covered * LARGE_PASS_RANGE)
            scales.append(LARGE_PASS_TOP_PX / covered)
        return scales

    def _merge(self, raw):
        """One box per face over all passes (a large face may be seen by two passes)."""
        keep = cv2.dnn.NMSBoxes([list(r[:4]) for r in raw], [float(r[4]) for r in raw],
                                0.0, self.config.nms_threshold)
        return [raw[i] for i in np.asarray(keep, int).reshape(-1)]

    def update(self, **changes) -> None:
        """Change thresholds at runtime (validated like the start-up configuration)."""
        if "kind" in changes or "model_path" in changes:
            raise ConfigError("detector kind/model_path cannot change at runtime; restart")
        self.config = dataclasses.replace(self.config, **changes)
        self._configure()

    def _configure(self) -> None:
        """Push the current config into the underlying engine (override when needed)."""

    @abc.abstractmethod
    def _detect_raw(self, image: np.ndarray,
                    scale: float) -> list[tuple[float, float, float, float, float]]:
        """(x, y, w, h, score) rows in the coordinates of ``image`` (frame * ``scale``)."""

    def _downscaled(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        limit = self.config.detect_max_side
        longest = max(image.shape[:2])
        if not limit or longest <= limit:
            return image, 1.0
        scale = limit / longest
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale

    def _finish(self, raw, width: int, height: int):
        """``raw``: (x, y, w, h, score) rows in full-resolution pixels."""
        cfg = self.config
        found = []
        for x, y, w, h, score in raw:
            box = Box(x, y, w, h).clipped(width, height)
            if min(box.w, box.h) >= cfg.min_face_size and score >= cfg.score_threshold:
                found.append(Detection(box, float(min(max(score, 0.0), 1.0))))
        found.sort(key=lambda d: d.score, reverse=True)
        dropped = max(0, len(found) - cfg.max_faces)
        return found[:cfg.max_faces], dropped


def yunet_model_path(config: DetectorConfig) -> Path:
    """``detector.model_path``, or the packaged YuNet copy when it is empty."""
    path = Path(config.model_path) if config.model_path else find_model_file(YUNET_RELATIVE)
    if not path.is_file():
        raise ModelError(f"YuNet model {path} does not exist; set detector.model_path to "
                         "the .onnx file or leave it empty for the packaged copy")
    return path
