"""Camera-like frames composed from real dataset faces, at known positions.

Used by the benchmarks and (through ``fer_ros/test/faces.py``) by the tests:

    images, labels = sample_faces(csv_path, "PublicTest", 200)   # fer_ros.core.fer2013
    scene = compose_frame(images[:3], labels[:3], frame_size=(640, 480), seed=1)
    scene.image, scene.boxes, scene.labels   # BGR frame, true face squares, their labels

Faces are scaled (48 px -> ``face_px``) and pasted at random, non-overlapping positions
on a textured background; the boxes are exactly where they went. The datasets are read
from the shared folder and never copied into the package.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.core.errors import InputError
from fer_ros.core.types import Box

CKPLUS_RELATIVE = Path("datasets/ckplus48/CK+48")


def ckplus_faces(folder: str | Path, per_class: int = 10) -> tuple[list, list]:
    """Up to ``per_class`` CK+48 faces of each class folder: (48x48 uint8 list, class names)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"CK+48 folder {folder} not found; set FER_ROS_SHARED")
    images, labels = [], []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for png in sorted(class_dir.glob("*.png"))[:per_class]:
            image = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
            if image is not None:
                images.append(image)
                labels.append(class_dir.name)
    return images, labels


@dataclass
class Scene:
    """A composed frame: BGR uint8 image, true face boxes and their labels (same order)."""

    image: np.ndarray
    boxes: list
    labels: list


def textured_background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth colour gradient plus mild noise: no face-like structure, not flat."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(60, 190, size=3).astype(np.float32)
    slope = rng.uniform(-0.08, 0.08, size=(3, 2)).astype(np.float32)
    image = np.stack([base[c] + slope[c, 0] * xs + slope[c, 1] * ys for c in range(3)], -1)
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _free(x: int, y: int, side: int, placed, gap: int = 8) -> bool:
    return all(x + side + gap <= px or px + ps + gap <= x or
               y + side + gap <= py or py + ps + gap <= y for px, py, ps in placed)


def _place(sizes, width: int, height: int, rng, attempts: int = 2000):
    """Non-overlapping squares (8 px apart) of the given sizes inside width x height."""
    placed = []
    for side in sizes:
        for _ in range(attempts):
            x = int(rng.integers(0, width - side + 1))
            y = int(rng.integers(0, height - side + 1))
            if _free(x, y, side, placed):
                placed.append((x, y, side))
                break
        else:
            raise InputError(f"cannot place {len(sizes)} faces of {list(sizes)} px without "
                             f"overlap in {width}x{height}; use smaller faces or a larger frame")
    return placed


def compose_frame(faces, labels, frame_size=(640, 480), face_px=(120, 180),
                  seed: int = 0) -> Scene:
    """Paste gray/BGR face crops onto a textured ``frame_size`` (w, h) BGR canvas.

    ``face_px`` is a fixed side or a (low, high) range sampled per face.
    """
    rng = np.random.default_rng(seed)
    width, height = frame_size
    if isinstance(face_px, int):
        sizes = [face_px] * len(faces)
    else:
        sizes = [int(rng.integers(face_px[0], face_px[1] + 1)) for _ in faces]
    image = textured_background(width, height, rng)
    boxes = []
    for face, (x, y, side) in zip(faces, _place(sizes, width, height, rng)):
        if face.ndim == 2:
            face = cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)
        image[y:y + side, x:x + side] = cv2.resize(face, (side, side),
                                                   interpolation=cv2.INTER_CUBIC)
        boxes.append(Box(float(x), float(y), float(side), float(side)))
    return Scene(image=image, boxes=boxes, labels=list(labels))


def moving_stream(faces, labels, frame_size=(640, 480), face_px=(110, 170),
                  frames: int = 150, speed_px: float = 4.0, seed: int = 0) -> list:
    """``frames`` consecutive camera frames of the same faces moving: each face drifts at
    ``speed_px`` per frame (4 px at 30 Hz: a person walking slowly across a VGA view),
    bouncing inside its own cell of a grid over the frame (so faces never overlap), and
    grows and shrinks by up to 10 % (stepping closer and back). One background (a fixed
    camera) with fresh sensor noise each frame. Play it forwards then backwards
    (``frames + frames[::-1]``) to loop it without a jump."""
    rng = np.random.default_rng(seed)
    width, height = frame_size
    count = len(faces)
    cols = max(1, round(np.sqrt(count * width / height)))  # cells about square
    rows = int(np.ceil(count / cols))
    cell_w, cell_h = width // cols, height // rows
    low, high = (face_px, face_px) if isinstance(face_px, int) else face_px
    base = [int(rng.integers(low, high + 1)) for _ in faces]
    if max(base) * 1.1 + 2 > min(cell_w, cell_h):
        raise InputError(f"{count} faces of up to {max(base)} px do not fit a {cols}x{rows} "
                         f"grid over {width}x{height}; use smaller faces or fewer")
    pos = [[float(rng.uniform(0, 1)), float(rng.uniform(0, 1))] for _ in faces]
    angle = rng.uniform(0, 2 * np.pi, count)
    vel = np.stack([np.cos(angle), np.sin(angle)], 1) * speed_px
    phase = rng.uniform(0, 2 * np.pi, count)
    background = textured_background(width, height, rng).astype(np.int16)
    crops = [f if f.ndim == 3 else cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in faces]
    out = []
    for t in range(frames):
        image = np.clip(background + rng.normal(0, 3, background.shape).astype(np.int16),
                        0, 255).astype(np.uint8)
        boxes = []
        for i, crop in enumerate(crops):
            side = int(round(base[i] * (1 + 0.1 * np.sin(phase[i] + t * 2 * np.pi / 90))))
            x0, y0 = (i % cols) * cell_w, (i // cols) * cell_h
            room_x, room_y = cell_w - side, cell_h - side
            x, y = x0 + int(pos[i][0] * room_x), y0 + int(pos[i][1] * room_y)
            image[y:y + side, x:x + side] = cv2.resize(crop, (side, side),
                                                       interpolation=cv2.INTER_CUBIC)
            boxes.append(Box(float(x), float(y), float(side), float(side)))
            for axis, room in ((0, room_x), (1, room_y)):
                pos[i][axis] += vel[i, axis] / max(room, 1)
                if not 0.0 <= pos[i][axis] <= 1.0:  # bounce off the cell's wall
                    vel[i, axis] = -vel[i, axis]
                    pos[i][axis] = min(max(pos[i][axis], 0.0), 1.0)
        out.append(Scene(image=image, boxes=boxes, labels=list(labels)))
    return out


def match_boxes(true_boxes, found_boxes, min_iou: float = 0.25) -> list:
    """For each true box, the index of the found box whose centre lies inside it with the
    best IoU >= min_iou, or None. Each found box is used at most once."""
    used, result = set(), []
    for truth in true_boxes:
        best, best_iou = None, min_iou
        for j, found in enumerate(found_boxes):
            cx, cy = found.x + found.w / 2, found.y + found.h / 2
            inside = truth.x <= cx <= truth.x + truth.w and truth.y <= cy <= truth.y + truth.h
            iou = truth.iou(found)
            if j not in used and inside and iou >= best_iou:
                best, best_iou = j, iou
        if best is not None:
            used.add(best)
        result.append(best)
    return result
