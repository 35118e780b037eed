"""Face detection behind one small interface: YuNet (default; ONNX Runtime or OpenCV DNN)
and OpenCV's Haar cascade.

    detector = make_detector(DetectorConfig(score_threshold=0.7))
    detections, dropped = detector.detect(frame_bgr_or_gray)

Boxes are in full-resolution pixels, clipped to the image, sorted by score
(best first) and capped at ``max_faces``; ``dropped`` counts the faces cut by the cap.

YuNet sees faces of about 10 to 480 px in its input (measured on pasted FER2013 faces:
found 97 % at 320 px, 88 % at 480, 72 % at 640). A face close to the camera is larger, so
with ``large_faces`` (default) frames taller than that get extra passes on reduced copies,
each covering the next factor of 3 in face size, until faces as tall as the frame are seen
(1080p: one pass at 0.3x, 9 % of the full pass's pixels; VGA: none). Their boxes join the
full-resolution ones before non-maximum suppression.
"""
from __future__ import annotations

from pathlib import Path

import cv2

from fer_ros.core.config import DetectorConfig
from fer_ros.core.detector_base import FaceDetector, yunet_model_path
from fer_ros.core.errors import ConfigError, ModelError
from fer_ros.core.yunet_ort import YuNetOrtDetector

HAAR_FILE = "haarcascade_frontalface_default.xml"


class YuNetDetector(FaceDetector):
    """OpenCV Zoo YuNet through ``cv2.FaceDetectorYN``; input size follows each frame.

    Kind ``yunet_opencv``; the default ``yunet`` runs the same model through ONNX Runtime
    (:mod:`fer_ros.core.yunet_ort`) with the same boxes in about half the CPU time."""

    name = "yunet_opencv"
    max_face_px = 480

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__(config)
        path = self.model_path = yunet_model_path(config)
        try:
            self._net = cv2.FaceDetectorYN.create(str(path), "", (320, 320),
                                                  config.score_threshold,
                                                  config.nms_threshold, 5000)
        except cv2.error as exc:
            raise ModelError(f"YuNet model {path} cannot be loaded ({exc.err}); the file is "
                             "corrupt or not a YuNet ONNX model: re-copy it") from None
        self._size = (320, 320)

    def _configure(self) -> None:
        self._net.setScoreThreshold(self.config.score_threshold)
        self._net.setNMSThreshold(self.config.nms_threshold)

    def _detect_raw(self, image, scale):
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        size = (image.shape[1], image.shape[0])
        if size != self._size:
            self._net.setInputSize(size)
            self._size = size
        _, faces = self._net.detect(image)
        if faces is None:
            return []
        return [(float(f[0]), float(f[1]), float(f[2]), float(f[3]), float(f[14]))
                for f in faces]


class HaarDetector(FaceDetector):
    """OpenCV's frontal-face Haar cascade: no model file, no calibrated score (reported 1.0).

    ``score_threshold`` and ``nms_threshold`` do not apply; ``haar_min_neighbors`` plays
    the role of the threshold. Needs OpenCV 4.x (OpenCV 5 dropped CascadeClassifier).
    """

    name = "haar"

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__(config)
        if not hasattr(cv2, "CascadeClassifier"):
            raise ModelError(f"OpenCV {cv2.__version__} has no CascadeClassifier (removed in "
                             "OpenCV 5); install opencv-python-headless<5 or use detector yunet")
        path = Path(cv2.data.haarcascades) / HAAR_FILE
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise ModelError(f"Haar cascade {path} cannot be loaded; reinstall "
                             "opencv-python-headless or use detector yunet")

    def _detect_raw(self, image, scale):
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        scale_min = max(1, int(self.config.min_face_size * scale))
        rects = self._cascade.detectMultiScale(
            cv2.equalizeHist(gray), scaleFactor=self.config.haar_scale_factor,
            minNeighbors=self.config.haar_min_neighbors, minSize=(scale_min, scale_min))
        return [(float(x), float(y), float(w), float(h), 1.0) for x, y, w, h in rects]


def make_detector(config: DetectorConfig) -> FaceDetector:
    kinds = {"yunet": YuNetOrtDetector, "yunet_opencv": YuNetDetector, "haar": HaarDetector}
    if config.kind not in kinds:
        raise ConfigError(f"unknown detector {config.kind!r}; valid: yunet, yunet_opencv, haar")
    return kinds[config.kind](config)
