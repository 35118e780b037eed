"""Reading photos and video frames with OpenCV; every failure is an InputError naming the file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from fer_ros.core.errors import InputError


def read_image(path: Path) -> np.ndarray:
    """A photo as uint8 BGR (HxWx3). 16-bit and gray files are converted by OpenCV."""
    try:
        # np.fromfile + imdecode also handles non-ASCII paths, which cv2.imread does not.
        data = np.fromfile(str(path), np.uint8)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"{path}: not a readable image (empty, corrupt or an unsupported "
                         "format); check the file or convert it to PNG/JPEG")
    return image


@dataclass
class Video:
    """An opened video file. ``frame_count`` is the container's estimate (0 if unknown)."""

    path: Path
    capture: cv2.VideoCapture
    fps: float
    frame_count: int
    size: tuple[int, int]  # width, height

    def frames(self, stride: int = 1) -> Iterator[tuple[int, np.ndarray, bool]]:
        """(index, BGR frame, process?) for every frame; ``process`` is True on every
        ``stride``-th frame, starting at 0. Ends at the first frame that fails to decode."""
        index = 0
        while True:
            ok, frame = self.capture.read()
            if not ok or frame is None:
                return
            yield index, frame, index % stride == 0
            index += 1

    def close(self) -> None:
        self.capture.release()

    def __enter__(self) -> "Video":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(path: Path) -> Video:
    """Open a video and make sure its first frame decodes (then rewind)."""
    capture = cv2.VideoCapture(str(path))
    ok, frame = (capture.read() if capture.isOpened() else (False, None))
    if not ok or frame is None:
        capture.release()
        raise InputError(f"{path}: not a readable video (OpenCV/FFmpeg cannot decode its "
                         "first frame); check the file or re-encode it, e.g. "
                         "ffmpeg -i IN -c:v libx264 OUT.mp4")
    # Re-open instead of seeking: seeking back to frame 0 is unreliable for some codecs.
    capture.release()
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    return Video(path, capture,
                 fps=float(fps) if fps and np.isfinite(fps) and fps > 0 else 25.0,
                 frame_count=int(count) if count and np.isfinite(count) and count > 0 else 0,
                 size=(frame.shape[1], frame.shape[0]))
