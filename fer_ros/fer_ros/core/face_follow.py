"""Following a face from frame to frame without the detector: where did it go?

    gray = to_gray(frame)
    face = FollowedFace.from_frame(gray, detection)   # on a frame the detector searched
    found = face.follow(to_gray(next_frame))         # Detection, or None: lost

The face's appearance (gray, ``FOLLOW_PX`` wide at the middle scale) as the detector last
saw it is matched by normalised cross-correlation over a window ``SEARCH`` face sides
around where it was, at three sizes (people step closer and back). About a tenth of a
millisecond per face in a VGA frame, against about ten for a YuNet pass over the frame.
The appearance is not updated between detector passes, so the box cannot drift away from
the face; a match below ``MIN_MATCH`` (the face turned away, left, or was covered)
reports the face lost.
"""
from __future__ import annotations

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
        box, (height, width) = self.box, gray.shape[:2]
        reach = (SEARCH + max(SCALES) - 1) * max(box.w, box.h)
        left, top = max(0, int(box.x - reach)), max(0, int(box.y - reach))
        right = min(width, int(box.x + box.w + reach) + 1)
        bottom = min(height, int(box.y + box.h + reach) + 1)
        factor = FOLLOW_PX / box.w  # the face at its last size -> FOLLOW_PX wide
        source = gray[top:bottom, left:right]
        if view is not None and factor * view_scale <= 1.0:
            s = view_scale  # the window on the view's pixel grid, in frame pixels
            left, top = -(-left // s) * s, -(-top // s) * s  # inside the frame's window
            right = min(right, view.shape[1] * s) // s * s
            bottom = min(bottom, view.shape[0] * s) // s * s
            source = view[top // s:bottom // s, left // s:right // s]
        size = (round((right - left) * factor), round((bottom - top) * factor))
        if min(size) < 1 or min(source.shape[:2]) < 1:
            return None
        small = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
        best, found = MIN_MATCH, None
        for scale, appearance in zip(SCALES, self.appearances):
            if small.shape[0] < appearance.shape[0] or small.shape[1] < appearance.shape[1]:
                continue  # the window is smaller than the face (the frame's edge)
            match = cv2.matchTemplate(small, appearance, cv2.TM_CCOEFF_NORMED)
            _, value, _, (x, y) = cv2.minMaxLoc(match)
            if value > best:
                best, found = value, Box(left + x / factor, top + y / factor,
                                         box.w * scale, box.h * scale)
        if found is None:
            return None
        self.box = found
        return Detection(found.clipped(width, height), self.score)
