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


def draw_probability_bars(image: np.ndarray, result: FrameResult) -> np.ndarray:
    """:func:`draw_faces` plus, beside each face, one bar per class probability.

    The panel goes right of the box, or left of it when there is no room; it is
    drawn on a dark backing so it reads on any background. Used by ``fer-ros detect``.
    """
    canvas = draw_faces(image, result)
    for face in result.faces:
        _probability_panel(canvas, face, result.labels)
    return canvas


def _probability_panel(canvas: np.ndarray, face, labels) -> None:
    height, width = canvas.shape[:2]
    row = max(9, min(16, int(face.box.h / max(len(labels), 1))))
    font_scale = row / 30.0
    text_w = max(cv2.getTextSize(n, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)[0][0]
                 for n in labels) + 4
    bar_w = 5 * row
    panel_w, panel_h = text_w + bar_w + 4, row * len(labels) + 4
    x = int(face.box.x + face.box.w) + 4
    if x + panel_w > width:  # no room right of the box: put it left
        x = max(0, int(face.box.x) - panel_w - 4)
    y = int(min(max(face.box.y, 0), max(height - panel_h, 0)))
    x1, y1 = min(x + panel_w, width), min(y + panel_h, height)
    # darken the backing in place (a blend rather than a solid block keeps context visible)
    canvas[y:y1, x:x1] = (canvas[y:y1, x:x1] * 0.35).astype(np.uint8)
    for i, (name, p) in enumerate(zip(labels, face.scores)):
        top = y + 2 + i * row
        colour = COLOURS.get(name, _GREY)
        cv2.putText(canvas, name, (x + 2, top + row - 3), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale, (235, 235, 235), 1, cv2.LINE_AA)
        length = int(round(float(np.clip(p, 0.0, 1.0)) * bar_w))
        if length > 0:
            cv2.rectangle(canvas, (x + text_w, top + 2), (x + text_w + length, top + row - 2),
                          colour, cv2.FILLED)
