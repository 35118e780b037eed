"""When to search the whole frame for faces, and when to follow the faces already found.

    schedule = DetectionSchedule(detector)
    detections, dropped, full = schedule.detect(frame, stream=True)

On a camera stream a face moves a few pixels between frames, so searching the whole
frame every time is mostly wasted work (detection is the largest stage of the pipeline).
With ``detector.full_detection_interval`` N > 1 the detector searches the whole frame on
every Nth frame; on the frames between, each face it found is followed
(:mod:`fer_ros.core.face_follow`, a fraction of a millisecond per face). What else
changed in the view since the last search is searched at once, so a person walking in
is found in the frame they appear (:func:`changed_region`: a 4x-reduced gray copy
compared with the one of the last search, about 0.1 ms): the detector runs on the
changed part only (a moving arm costs a small search), or on the whole frame when that
part is large (the camera turned, the lights changed). The whole frame is also searched
when following loses a face (it left, turned away, or the scene cut: in that same frame,
so no frame goes out without its faces), when no face is in view, when the frame size
changes, after :meth:`reset` (the pipeline calls it when detector settings change), and
for frames that are not a stream (``stream=False``: photos). Every Nth frame bounds the
staleness of anything the change test cannot see.
"""
from __future__ import annotations

import cv2
import numpy as np

from fer_ros.core.detector_base import FaceDetector
from fer_ros.core.face_follow import FollowedFace, to_gray
from fer_ros.core.types import Box, Detection

CHANGE_SCALE = 4      # views are compared reduced this much (sensor noise averages out)
CHANGE_LEVEL = 25     # gray levels a reduced pixel must change by to count as a change
FACE_MARGIN = 0.5     # around followed faces (of their side) changes are the head moving
REGION_PAD = 48       # px around a changed part searched with it (a face half in view)
REGION_MAX_SHARE = 0.4  # a changed part larger than this share of the frame: search all


def reduced(gray: np.ndarray) -> np.ndarray:
    height, width = gray.shape[:2]
    size = (max(1, width // CHANGE_SCALE), max(1, height // CHANGE_SCALE))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def changed_region(before: np.ndarray, now: np.ndarray, boxes: list[Box]):
    """(x0, y0, x1, y1) in frame pixels around what differs between two reduced views
    apart from around ``boxes`` (frame pixels), or None when nothing does."""
    diff = cv2.absdiff(before, now)
    for box in boxes:
        pad = FACE_MARGIN * max(box.w, box.h)
        x0, y0 = (max(0, int((v - pad) / CHANGE_SCALE)) for v in (box.x, box.y))
        x1 = int((box.x + box.w + pad) / CHANGE_SCALE) + 1
        y1 = int((box.y + box.h + pad) / CHANGE_SCALE) + 1
        diff[y0:y1, x0:x1] = 0
    ys, xs = np.nonzero(diff > CHANGE_LEVEL)
    if not len(xs):
        return None
    return (int(xs.min()) * CHANGE_SCALE, int(ys.min()) * CHANGE_SCALE,
            (int(xs.max()) + 1) * CHANGE_SCALE, (int(ys.max()) + 1) * CHANGE_SCALE)


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
        self._view: np.ndarray | None = None  # reduced gray view as last searched
        self._searched_boxes: list[Box] = []

    def detect(self, image: np.ndarray, stream: bool) -> tuple[list[Detection], int, bool]:
        """(faces, how many ``max_faces`` cut, whether the detector searched the whole
        frame) for ``image``, a frame :func:`check_frame` passed."""
        interval = self.detector.config.full_detection_interval
        gray = to_gray(image) if stream and interval > 1 else None
        if gray is not None and self._faces and image.shape[:2] == self._shape \
                and self._since_full + 1 < interval:
            followed = self._follow_and_search_changes(image, gray)
            if followed is not None:
                self._since_full += 1
                return followed, 0, False
        detections, dropped = self.detector.detect_checked(image)
        if gray is not None:
            self._faces = [FollowedFace.from_frame(gray, d) for d in detections]
            self._view, self._searched_boxes = reduced(gray), [d.box for d in detections]
        else:
            self._faces = []
        self._since_full, self._shape = 0, image.shape[:2]
        return detections, dropped, True

    def _follow_and_search_changes(self, image, gray) -> list[Detection] | None:
        """The followed faces plus any found where the view changed; None: search all."""
        followed = self._follow(gray)
        if followed is None:
            return None
        view = reduced(gray)
        region = changed_region(self._view, view, self._searched_boxes +
                                [d.box for d in followed])
        if region is None:
            return followed
        height, width = image.shape[:2]
        x0, y0 = max(0, region[0] - REGION_PAD), max(0, region[1] - REGION_PAD)
        x1, y1 = min(width, region[2] + REGION_PAD), min(height, region[3] + REGION_PAD)
        if (x1 - x0) * (y1 - y0) > REGION_MAX_SHARE * width * height:
            return None
        new = self._search(image, gray, (x0, y0, x1, y1), followed)
        s = CHANGE_SCALE  # this part of the view now counts as searched
        self._view[y0 // s:y1 // s, x0 // s:x1 // s] = view[y0 // s:y1 // s, x0 // s:x1 // s]
        return followed + new

    def _search(self, image, gray, rect, followed) -> list[Detection]:
        """Faces in ``rect`` of the frame that are not followed yet (and follow them)."""
        x0, y0, x1, y1 = rect
        found, _ = self.detector.detect_checked(np.ascontiguousarray(image[y0:y1, x0:x1]))
        room = self.detector.config.max_faces - len(followed)
        new = []
        for d in found:
            box = Box(d.box.x + x0, d.box.y + y0, d.box.w, d.box.h)
            if len(new) < room and all(box.iou(f.box) < 0.3 for f in followed):
                new.append(Detection(box, d.score))
        self._faces += [FollowedFace.from_frame(gray, d) for d in new]
        return new

    def _follow(self, gray: np.ndarray) -> list[Detection] | None:
        """Every face of the last search in this frame, or None when one is lost."""
        minimum, found = self.detector.config.min_face_size, []
        for face in self._faces:
            detection = face.follow(gray)
            if detection is None or min(detection.box.w, detection.box.h) < minimum:
                return None
            found.append(detection)
        return found
