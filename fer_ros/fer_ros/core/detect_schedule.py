"""When to search the whole frame for faces, and when to follow the faces already found.

    schedule = DetectionSchedule(detector)
    detections, dropped, full = schedule.detect(frame, stream=True)

On a camera stream a face moves a few pixels between frames, so searching the whole
frame every time is mostly wasted work (detection is the largest stage of the pipeline).
With ``detector.full_detection_interval`` N > 1 the detector searches the whole frame on
every Nth frame; on the frames between, each face it found is followed
(:mod:`fer_ros.core.face_follow`, about a hundredth of a detector pass). The staleness is
bounded: a face that enters the view is found within N - 1 frames. The whole frame is also
searched when following loses a face (it left, turned away, or the scene changed: that
same frame, so no frame goes out without its faces), when the frame size changes, after
:meth:`reset`, and for frames that are not a stream (``stream=False``: unrelated photos).
"""
from __future__ import annotations

import numpy as np

from fer_ros.core.detector_base import FaceDetector
from fer_ros.core.face_follow import FollowedFace, to_gray
from fer_ros.core.types import Detection


class DetectionSchedule:
    """Chooses between a full detector pass and following the faces it found last."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = detector
        self.reset()

    def reset(self) -> None:
        """The next frame gets a full search (e.g. a new video starts)."""
        self._faces: list[FollowedFace] = []
        self._shape: tuple | None = None
        self._since_full = 0

    def detect(self, image: np.ndarray, stream: bool) -> tuple[list[Detection], int, bool]:
        """(faces, how many ``max_faces`` cut, whether the detector searched the whole
        frame) for ``image``, a frame :func:`check_frame` passed."""
        interval = self.detector.config.full_detection_interval
        gray = to_gray(image) if stream and interval > 1 else None
        if gray is not None and image.shape[:2] == self._shape \
                and self._since_full + 1 < interval:
            followed = self._follow(gray)
            if followed is not None:
                self._since_full += 1
                return followed, 0, False
        detections, dropped = self.detector.detect_checked(image)
        self._faces = [] if gray is None else [FollowedFace.from_frame(gray, d)
                                               for d in detections]
        self._since_full, self._shape = 0, image.shape[:2]
        return detections, dropped, True

    def _follow(self, gray: np.ndarray) -> list[Detection] | None:
        """Every face of the last search in this frame, or None when one is lost."""
        minimum, found = self.detector.config.min_face_size, []
        for face in self._faces:
            detection = face.follow(gray)
            if detection is None or min(detection.box.w, detection.box.h) < minimum:
                return None
            found.append(detection)
        return found
