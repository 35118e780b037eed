"""Draw face boxes, track ids, labels and confidences onto a frame (a copy).

Used by the node's ``~/annotated`` topic, the demo and ``fer-ros detect``.
"""
from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core.types import FrameResult

# BGR colour per emotion, chosen to be told apart at a glance; unknown labels get grey.
COLOURS = {
    "angry": (40, 40, 220), "disgust": (40, 140, 40), "fear": (160, 60, 160),
    "happy": (40, 200, 240), "sad": (200, 120, 40), "surprise": (230, 200, 60),
    "neutral": (200, 200, 200), "contempt": (60, 100, 160),
}
_GREY = (160, 160, 160)


def draw_faces(image: np.ndarray, result: FrameResult) -> np.ndarray:
    """A BGR copy of ``image`` (uint8 BGR or gray) with one box and caption per face."""
    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    # Line width and font grow with the frame so captions stay legible on large images.
    scale = max(0.4, min(canvas.shape[:2]) / 480.0)
    thickness = max(1, int(round(2 * scale)))
    text_thickness = max(1, int(round(scale)))
    for face in result.faces:
        colour = COLOURS.get(face.label, _GREY)
        x0, y0 = int(round(face.box.x)), int(round(face.box.y))
        x1, y1 = int(round(face.box.x + face.box.w)), int(round(face.box.y + face.box.h))
        cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, thickness)
        ident = f"#{face.track_id} " if face.track_id >= 0 else ""
        caption = f"{ident}{face.label} {face.confidence:.2f}"
        _caption(canvas, caption, (x0, y0), colour, 0.5 * scale, text_thickness)
    return canvas


def _caption(canvas: np.ndarray, text: str, corner: tuple[int, int],
             colour: tuple[int, int, int], font_scale: float, thickness: int) -> None:
    """Text on a filled bar above the box (below its top edge if no room above)."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, font_scale, thickness)
    x, y = corner
    top = y - th - base - 2 if y - th - base - 2 >= 0 else y
    cv2.rectangle(canvas, (x, top), (x + tw + 2, top + th + base + 2), colour, cv2.FILLED)
    cv2.putText(canvas, text, (x + 1, top + th + 1), font, font_scale, (0, 0, 0), thickness,
                cv2.LINE_AA)
