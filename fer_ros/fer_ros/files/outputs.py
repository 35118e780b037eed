"""Annotated copies under --out: photos keep their format, videos become MP4 (mp4v)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.errors import InputError

# Formats OpenCV writes for a 3-channel BGR image; anything else gets ".png" appended.
_IMAGE_WRITE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def annotated_image_path(out_dir: Path, relative: Path) -> Path:
    if relative.suffix.lower() in _IMAGE_WRITE_EXTENSIONS:
        return out_dir / relative
    return out_dir / relative.with_name(relative.name + ".png")


def annotated_video_path(out_dir: Path, relative: Path) -> Path:
    if relative.suffix.lower() == ".mp4":
        return out_dir / relative
    # clip.avi -> clip.avi.mp4: never collides with a clip.mp4 beside it
    return out_dir / relative.with_name(relative.name + ".mp4")


def write_image(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix, image)
    if not ok:
        raise InputError(f"{path}: OpenCV cannot encode an image with this extension")
    data.tofile(str(path))  # tofile, like fromfile in reading, copes with non-ASCII paths


class VideoOutput:
    """An MP4 writer opened on the first frame (its size fixes the video's size)."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps = path, fps
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"),
                                           self.fps, (w, h))
            if not self._writer.isOpened():
                raise InputError(f"{self.path}: OpenCV cannot open an MP4 writer here; "
                                 "choose another --out folder")
        self._writer.write(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
