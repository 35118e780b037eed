"""Following a face from frame to frame without the detector: where did it go?

    gray = to_gray(frame)
    face = FollowedFace.from_frame(gray, detection)   # on a frame the detector searched
    found = face.follow(to_gray(next_frame))         # Detection, or None: lost

The face's appearance (gray, ``FOLLOW_PX`` wide at the middle scale) as the detector last
saw it is matched by normalised cross-correlation over a window ``SEARCH`` face sides
around where it was, at three sizes (people step closer and back). The best match is
refined between window pixels and between the sizes tried (a parabola through the
neighbouring correlations), so the box follows the face to about a pixel although one
window pixel is 1/24 of the face. A fraction of a millisecond per face in a VGA frame,
against about ten for a YuNet pass over the frame. The appearance is not updated between
detector passes, so the box cannot drift away from the face; a match below ``MIN_MATCH``
(the face turned away, left, or was covered) reports the face lost.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fer_ros.core.types import Box, Detection

FOLLOW_PX = 24               # the face's width in the matched window at scale 1
SEARCH = 0.5                 # search this many face sides around the last box, each way
SCALES = (0.94, 1.0, 1.06)   # face size change per frame considered
MIN_MATCH = 0.6              # normalised correlation below this: the face is lost
MIN_CONTRAST = 2.0           # gray std below this: nothing to match (a flat false detection)


def to_gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


@dataclass
class FollowedFace:
    """A face the detector found, with what it looked like then and where it is now."""

    appearances: list       # gray, one per SCALES entry: the face FOLLOW_PX * scale wide
    box: Box                # unclipped: its size is the face's, even at the frame's edge
    score: float            # the detector's score when it was found

    @classmethod
    def from_frame(cls, gray: np.ndarray, detection: Detection) -> "FollowedFace":
        box = detection.box
        x0, y0 = int(box.x), int(box.y)
        crop = gray[y0:max(y0 + 1, int(box.y + box.h)), x0:max(x0 + 1, int(box.x + box.w))]
        aspect = box.h / max(box.w, 1.0)
        appearances = [cv2.resize(crop, (round(FOLLOW_PX * s), round(FOLLOW_PX * s * aspect)),
                                  interpolation=cv2.INTER_AREA) for s in SCALES]
        if float(appearances[1].std()) < MIN_CONTRAST:
            appearances = []  # correlation is undefined on a flat patch: never followed
        return cls(appearances, box, detection.score)

    def follow(self, gray: np.ndarray, view: np.ndarray | None = None,
               view_scale: int = 1) -> Detection | None:
        """This face in ``gray`` (the next frame), or None when no window matches well.

        ``view``: ``gray`` reduced ``view_scale`` times (INTER_AREA). A face that is still
        at least FOLLOW_PX wide in it is looked for there: the same window, from a
        ``view_scale``² times smaller image to resize (the resize was most of the cost)."""
        if not self.appearances:
            return None
        box, (height, width) = self.box, gray.shape[:2]
        window = _window(gray, view, view_scale, box)
        if window is None:
            return None
        small, left, top, step_x, step_y = window
        peaks = [_peak(small, appearance) for appearance in self.appearances]
        best = int(np.argmax([value for value, _, _ in peaks]))
        value, x, y = peaks[best]
        if value <= MIN_MATCH:
            return None
        # the width of the appearance that matched (in window pixels) is the face's now
        sizes = [a.shape[1] for a in self.appearances]
        face_w = sizes[best] * _size_step(peaks, sizes, best) * step_x
        self.box = found = Box(left + x * step_x, top + y * step_y, face_w,
                               box.h * face_w / box.w)
        return Detection(found.clipped(width, height), self.score)


def _window(gray: np.ndarray, view: np.ndarray | None, view_scale: int, box: Box):
    """The part of the frame where the face may be now, resized so that the face at its
    last size is FOLLOW_PX wide: (window, left, top, frame px per window px in x and in y),
    or None when nothing of it is in the frame.

    From ``view`` (the frame reduced ``view_scale`` times) when the face is large enough:
    a ``view_scale``² times smaller image to resize. Otherwise the window's pixel grid starts
    a whole number of window pixels from the face's corner, in line with the grid of its
    appearance (a grid half a pixel off made the wrong size match best)."""
    height, width = gray.shape[:2]
    step = box.w / FOLLOW_PX  # frame px per window px
    reach = (SEARCH + max(SCALES) - 1) * max(box.w, box.h)
    if view is not None and step >= view_scale:
        s = view_scale  # whole view pixels, inside the frame's window
        left, top = (max(0, math.ceil((v - reach) / s)) * s for v in (box.x, box.y))
        right = int(min(box.x + box.w + reach, view.shape[1] * s)) // s * s
        bottom = int(min(box.y + box.h + reach, view.shape[0] * s)) // s * s
        source = view[top // s:bottom // s, left // s:right // s]
    else:
        steps = math.ceil(reach / step)
        left, top = (max(0, round(v - steps * step)) for v in (box.x, box.y))
        right, bottom = (min(end, start + round(math.ceil((far - start) / step) * step))
                         for start, far, end in ((left, box.x + box.w + reach, width),
                                                 (top, box.y + box.h + reach, height)))
        source = gray[top:bottom, left:right]
    size = (round((right - left) / step), round((bottom - top) / step))
    if min(size) < 1 or min(source.shape[:2]) < 1:
        return None
    small = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
    return small, left, top, (right - left) / size[0], (bottom - top) / size[1]


def _peak(window: np.ndarray, appearance: np.ndarray) -> tuple[float, float, float]:
    """(best correlation, x, y) of ``appearance`` in ``window``, x and y to a fraction of a
    pixel; (-1, 0, 0) when it does not fit."""
    if window.shape[0] < appearance.shape[0] or window.shape[1] < appearance.shape[1]:
        return -1.0, 0.0, 0.0  # the window is smaller than the face (the frame's edge)
    match = cv2.matchTemplate(window, appearance, cv2.TM_CCOEFF_NORMED)
    _, value, _, (x, y) = cv2.minMaxLoc(match)
    dx = _vertex(*match[y, x - 1:x + 2]) if 0 < x < match.shape[1] - 1 else 0.0
    dy = _vertex(*match[y - 1:y + 2, x]) if 0 < y < match.shape[0] - 1 else 0.0
    return float(value), x + dx, y + dy


def _size_step(peaks, sizes, best: int) -> float:
    """Factor on ``sizes[best]`` from the correlations at the neighbouring sizes (a face
    grows or shrinks by less than one step of SCALES between frames)."""
    if not 0 < best < len(sizes) - 1 or min(peaks[best - 1][0], peaks[best + 1][0]) < 0:
        return 1.0
    offset = _vertex(peaks[best - 1][0], peaks[best][0], peaks[best + 1][0])
    ratio = sizes[best + 1 if offset > 0 else best - 1] / sizes[best]
    return float(ratio ** abs(offset))


def _vertex(before: float, peak: float, after: float) -> float:
    """Offset (-0.5..0.5) of the top of the parabola through three equally spaced values."""
    curvature = before - 2.0 * peak + after
    if curvature >= 0:
        return 0.0
    return float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))
