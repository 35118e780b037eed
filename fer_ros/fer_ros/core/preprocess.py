"""The one face preprocessing, shared by training and runtime.

Training calls :func:`face_to_tensor` on dataset crops; the runtime calls
:func:`square_crop` on a camera frame and then the same :func:`face_to_tensor`.
What the network saw in training is therefore exactly what it sees on the robot.
This module imports only numpy and cv2 (no torch, no rclpy).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fer_ros.core.errors import InputError


@dataclass(frozen=True)
class InputSpec:
    """How a face crop becomes a network input; stored in the model bundle.

    size: side of the square input in pixels.
    channels: 1 (grayscale) or 3 (RGB, channel order R, G, B).
    mean, std: per-channel normalisation applied to pixels scaled to [0, 1].
    crop_margin: fraction of the detector box side added on each side before
        cropping, so runtime crops frame the face like the training crops.
    """

    size: int = 64
    channels: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.5,)
    crop_margin: float = 0.15

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise InputError(f"input channels must be 1 or 3, got {self.channels}")
        if self.size < 8:
            raise InputError(f"input size must be >= 8 pixels, got {self.size}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise InputError(
                f"mean/std need {self.channels} values each, got {self.mean} / {self.std}")
        if any(s <= 0 for s in self.std):
            raise InputError(f"std values must be > 0, got {self.std}")
        if not 0.0 <= self.crop_margin <= 1.0:
            raise InputError(f"crop_margin must be in [0, 1], got {self.crop_margin}")

    def to_dict(self) -> dict:
        """The JSON form stored in checkpoints and in model.json's ``input`` section."""
        return {"size": self.size, "channels": self.channels, "mean": list(self.mean),
                "std": list(self.std), "crop_margin": self.crop_margin}

    @classmethod
    def from_dict(cls, values: dict) -> "InputSpec":
        """Inverse of :meth:`to_dict`; extra keys (name, layout, dtype) are ignored.

        KeyError names a missing field; InputError a value out of range.
        """
        return cls(size=int(values["size"]), channels=int(values["channels"]),
                   mean=tuple(float(v) for v in values["mean"]),
                   std=tuple(float(v) for v in values["std"]),
                   crop_margin=float(values.get("crop_margin", 0.0)))


def square_crop(image: np.ndarray, box: tuple[float, float, float, float],
                margin: float) -> np.ndarray:
    """Cut a square around ``box`` (x, y, w, h in pixels) grown by ``margin``.

    The square is centred on the box, its side is ``max(w, h) * (1 + 2 * margin)``;
    parts outside the image are filled by replicating the border so the face
    stays centred (zeros would teach the network a black frame it never saw).
    """
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise InputError(f"expected an HxW or HxWxC image, got shape {image.shape}")
    x, y, w, h = (float(v) for v in box)
    if not (np.isfinite([x, y, w, h]).all() and w > 0 and h > 0):
        raise InputError(f"face box must have finite coordinates and positive size, got {box}")
    side = max(1, int(round(max(w, h) * (1.0 + 2.0 * margin))))
    cx, cy = x + w / 2.0, y + h / 2.0
    x0 = int(np.floor(cx - side / 2.0))
    y0 = int(np.floor(cy - side / 2.0))
    ih, iw = image.shape[:2]
    if x0 >= iw or y0 >= ih or x0 + side <= 0 or y0 + side <= 0:
        raise InputError(f"face box {box} lies entirely outside the {iw}x{ih} image")
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + side, iw), min(y0 + side, ih)
    crop = image[cy0:cy1, cx0:cx1]
    pad = (cy0 - y0, y0 + side - cy1, cx0 - x0, x0 + side - cx1)
    if any(pad):
        crop = cv2.copyMakeBorder(crop, *pad, borderType=cv2.BORDER_REPLICATE)
    return crop


def _to_channels(face: np.ndarray, channels: int) -> np.ndarray:
    """uint8 gray (HxW) or BGR (HxWx3) -> HxW gray or HxWx3 RGB."""
    if face.ndim == 2:
        return face if channels == 1 else cv2.cvtColor(face, cv2.COLOR_GRAY2RGB)
    if face.shape[2] != 3:
        raise InputError(f"face crop must be gray or BGR, got {face.shape[2]} channels")
    return cv2.cvtColor(face, cv2.COLOR_BGR2GRAY if channels == 1 else cv2.COLOR_BGR2RGB)


def face_to_tensor(face: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A uint8 face crop (gray HxW or BGR HxWx3) -> float32 CxHxW network input."""
    if face.dtype != np.uint8:
        raise InputError(f"face crop must be uint8, got {face.dtype}")
    if face.ndim not in (2, 3) or min(face.shape[:2]) < 1:
        raise InputError(f"face crop must be HxW or HxWx3, got shape {face.shape}")
    face = _to_channels(face, spec.channels)
    h, w = face.shape[:2]
    if (h, w) != (spec.size, spec.size):
        # INTER_AREA when shrinking avoids aliasing; INTER_LINEAR when enlarging.
        shrinking = h > spec.size or w > spec.size
        face = cv2.resize(face, (spec.size, spec.size),
                          interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    x = face.astype(np.float32) * np.float32(1.0 / 255.0)
    if x.ndim == 2:
        x = x[None]
    else:
        x = np.ascontiguousarray(x.transpose(2, 0, 1))
    mean = np.asarray(spec.mean, np.float32)[:, None, None]
    std = np.asarray(spec.std, np.float32)[:, None, None]
    return (x - mean) / std


def preprocess_faces(image: np.ndarray, boxes, spec: InputSpec) -> np.ndarray:
    """All faces of one BGR/gray uint8 frame -> one float32 NxCxHxW batch."""
    batch = np.empty((len(boxes), spec.channels, spec.size, spec.size), np.float32)
    for i, box in enumerate(boxes):
        batch[i] = face_to_tensor(square_crop(image, box, spec.crop_margin), spec)
    return batch
