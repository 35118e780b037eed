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


class FaceDetector(abc.ABC):
    """Finds faces in uint8 BGR or gray frames."""

    name = "detector"

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config

    def detect(self, image: np.ndarray) -> tuple[list[Detection], int]:
        """All faces of a frame, best first, at most ``max_faces``; plus how many were cut."""
        return self.detect_checked(check_frame(image))

    def detect_checked(self, image: np.ndarray) -> tuple[list[Detection], int]:
        """:meth:`detect` for a frame :func:`check_frame` already passed (the pipeline's)."""
        height, width = image.shape[:2]
        small, scale = self._downscaled(image)
        raw = self._detect_raw(small, scale)
        return self._finish(raw, scale, width, height)

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

    def _finish(self, raw, scale: float, width: int, height: int):
        cfg = self.config
        found = []
        for x, y, w, h, score in raw:
            box = Box(x / scale, y / scale, w / scale, h / scale).clipped(width, height)
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
