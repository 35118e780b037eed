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

    Each panel goes right of, left of, below or above its face, whichever covers
    the fewest pixels of other faces and panels; it is drawn on a darkened backing
    so it reads on any background. Used by ``fer-ros detect``.
    """
    canvas = draw_faces(image, result)
    boxes = [_rect(f.box.x, f.box.y, f.box.w, f.box.h) for f in result.faces]
    taken = list(boxes)
    for face, own in zip(result.faces, boxes):
        panel = _panel_rect(canvas.shape, own, len(result.labels),
                            [r for r in taken if r != own])
        taken.append(panel)
        _probability_panel(canvas, panel, face.scores, result.labels)
    return canvas


def _rect(x, y, w, h) -> tuple[int, int, int, int]:
    return int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h))


def _overlap(a, b) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def _panel_size(rows: int) -> tuple[int, int, int]:
    """(row height, panel width, panel height): 11 px rows, labels up to 8 characters."""
    row = 11
    return row, 11 * row, row * rows + 4


def _panel_rect(shape, box, rows: int, others) -> tuple[int, int, int, int]:
    height, width = shape[:2]
    _, pw, ph = _panel_size(rows)
    x0, y0, x1, y1 = box
    candidates = [(x1 + 4, y0), (x0 - pw - 4, y0), (x0, y1 + 4), (x0, y0 - ph - 4)]
    best, best_cost = None, None
    for x, y in candidates:
        x = min(max(x, 0), max(width - pw, 0))
        y = min(max(y, 0), max(height - ph, 0))
        rect = (x, y, x + pw, y + ph)
        cost = sum(_overlap(rect, o) for o in others) + 4 * _overlap(rect, box)
        if best_cost is None or cost < best_cost:
            best, best_cost = rect, cost
    return best


def _probability_panel(canvas: np.ndarray, rect, scores, labels) -> None:
    row, panel_w, _ = _panel_size(len(labels))
    x, y, x1, y1 = rect
    x1, y1 = min(x1, canvas.shape[1]), min(y1, canvas.shape[0])
    # darken the backing in place (a blend rather than a solid block keeps context visible)
    canvas[y:y1, x:x1] = (canvas[y:y1, x:x1] * 0.3).astype(np.uint8)
    text_w = 6 * row  # "surprise" at this font size
    bar_w = panel_w - text_w - 4
    for i, (name, p) in enumerate(zip(labels, scores)):
        top = y + 2 + i * row
        cv2.putText(canvas, name[:9], (x + 2, top + row - 2), cv2.FONT_HERSHEY_SIMPLEX,
                    row / 32.0, (235, 235, 235), 1, cv2.LINE_AA)
        length = int(round(float(np.clip(p, 0.0, 1.0)) * bar_w))
        if length > 0:
            cv2.rectangle(canvas, (x + text_w, top + 2), (x + text_w + length, top + row - 2),
                          COLOURS.get(name, _GREY), cv2.FILLED)
