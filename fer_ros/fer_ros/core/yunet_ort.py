"""YuNet run by ONNX Runtime (detector kind ``yunet``, the default): same model file and
the same boxes as OpenCV's ``cv2.FaceDetectorYN`` (kind ``yunet_opencv``).

ONNX Runtime runs the network in about half the CPU time of OpenCV's DNN module (figures:
docs/core.md, ``python -m fer_ros.bench.core_bench``). The decoding below
follows OpenCV's FaceDetectorYN (objdetect/src/face_detect.cpp) for the anchor-free YuNet
heads at strides 8, 16 and 32: the input is the raw BGR frame as float, zero-padded on the
right/bottom to a multiple of 32; score = sqrt(cls * obj); boxes decoded per grid cell.
"""
from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core.config import DetectorConfig
from fer_ros.core.detector_base import FaceDetector, yunet_model_path
from fer_ros.core.errors import ModelError
from fer_ros.core.ort_session import ort_session

STRIDES = (8, 16, 32)
PAD_TO = 32
TOP_K = 5000


def decode(outputs: dict, width: int, height: int, score_threshold: float):
    """Raw YuNet head outputs for a padded ``width`` x ``height`` input -> boxes, scores."""
    boxes, scores = [], []
    for stride in STRIDES:
        cols = width // stride
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0, 1)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0, 1)
        score = np.sqrt(cls * obj)
        keep = np.nonzero(score >= score_threshold)[0]
        if not len(keep):
            continue
        bbox = outputs[f"bbox_{stride}"].reshape(-1, 4)[keep]
        r, c = np.divmod(keep, cols)
        cx, cy = (c + bbox[:, 0]) * stride, (r + bbox[:, 1]) * stride
        w, h = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
        boxes.append(np.stack([cx - w / 2, cy - h / 2, w, h], 1))
        scores.append(score[keep])
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    return np.concatenate(boxes).astype(np.float32), np.concatenate(scores).astype(np.float32)


class YuNetOrtDetector(FaceDetector):
    """The packaged YuNet model through ONNX Runtime (CPU); ``detector.threads`` threads."""

    name = "yunet"
    max_face_px = 480

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__(config)
        path = yunet_model_path(config)
        self._session = ort_session(path, config.threads, what="YuNet model",
                                    fix="the file is corrupt or not a YuNet ONNX model: re-copy it")
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]
        missing = {f"{h}_{s}" for h in ("cls", "obj", "bbox") for s in STRIDES} - set(
            self._outputs)
        if missing:
            raise ModelError(f"{path} lacks YuNet outputs {sorted(missing)}; use an OpenCV Zoo "
                             "YuNet (2023mar or later) model, or detector kind yunet_opencv")
        self.model_path = path

    def _blob(self, image: np.ndarray) -> np.ndarray:
        """The network input: planar float32, zero-padded right/bottom to a multiple of 32.

        One copy per channel into a buffer kept per padded size: a third of the time of
        pad + transpose + astype, which made three full copies. Images of different sizes
        share a padded size (the crops of partial searches), so the padding is zeroed on
        every call: what an earlier, larger image left there changed the boxes."""
        height, width = image.shape[:2]
        shape = (1, 3, height + -height % PAD_TO, width + -width % PAD_TO)
        blobs = self.__dict__.setdefault("_blobs", {})
        blob = blobs.get(shape)
        if blob is None:
            if len(blobs) > 4:  # frame sizes come and go (multi-scale passes, cameras)
                blobs.clear()
            blob = blobs[shape] = np.zeros(shape, np.float32)
        blob[0, :, height:, :] = 0
        blob[0, :, :height, width:] = 0
        if image.ndim == 2:
            blob[0, :, :height, :width] = image
        else:
            for channel in range(3):
                blob[0, channel, :height, :width] = image[:, :, channel]
        return blob

    def _detect_raw(self, image, scale):
        blob = self._blob(image)
        values = self._session.run(self._outputs, {self._input: blob})
        boxes, scores = decode(dict(zip(self._outputs, values)), blob.shape[3], blob.shape[2],
                               self.config.score_threshold)
        if not len(scores):
            return []
        keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.config.score_threshold,
                                self.config.nms_threshold, top_k=TOP_K)
        return [(*map(float, boxes[i]), float(scores[i])) for i in np.asarray(keep).reshape(-1)]
