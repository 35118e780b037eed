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

When the caller had time to spare before a frame (``spare``: a live camera) and a
background detector is available, that Nth frame is followed like the others and its
whole-frame search runs on a background thread; frame N + ``SEARCH_FRAMES`` takes the
faces it found (waiting for it if needed, so results never depend on timing) and follows
them into the present. No frame then waits for the periodic search. The searches that must
not wait (a lost face, an empty view, ...) always run in the frame.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

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
SEARCH_FRAMES = 2     # a background search of frame N is taken by frame N + 2: two frames'
                      # time to run beside, so back-to-back frames (bags, videos) rarely wait

log = logging.getLogger(__name__)


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


@dataclass
class PendingSearch:
    """A whole-frame search running on the background thread, and the frame it searches."""

    future: Future
    gray: np.ndarray
    frames_left: int = SEARCH_FRAMES  # frames until the one that takes its faces


class DetectionSchedule:
    """Chooses between a full detector pass and following the faces it found last."""

    def __init__(self, detector: FaceDetector,
                 make_background_detector: Callable[[], FaceDetector] | None = None) -> None:
        """``make_background_detector``: builds the detector of background searches (its
        own instance: detectors keep per-call buffers; None: searches run in the frame)."""
        self.detector = detector
        self._make_background = make_background_detector
        self._background_detector: FaceDetector | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: PendingSearch | None = None
        self.blocked = False  # the last frame waited for a whole-frame search of its own
        self.reset()

    def reset(self) -> None:
        """The next frame gets a full search (e.g. a new video starts)."""
        self._faces: list[FollowedFace] = []
        self._shape: tuple | None = None
        self._since_full = 0
        self._view: np.ndarray | None = None  # reduced gray view as last searched
        self._searched_boxes: list[Box] = []
        self._pending = None  # a search under the old settings or of another video: unused

    def update_detector(self, **changes) -> None:
        """Change detector settings (both detectors); the next frame is searched whole."""
        for detector in (self.detector, self._background_detector):
            if detector is not None:
                detector.update(**changes)
        self.reset()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def detect(self, image: np.ndarray, stream: bool,
               spare: bool = False) -> tuple[list[Detection], int, bool]:
        """(faces, how many ``max_faces`` cut, whether they come from a whole-frame search)
        for ``image``, a frame :func:`check_frame` passed. ``spare``: the caller had time to
        spare before this frame (a live camera, not frames back to back), so this frame's
        periodic search may run beside it. ``blocked`` afterwards: whether this frame
        waited for a whole-frame search of its own."""
        interval = self.detector.config.full_detection_interval
        gray = to_gray(image) if stream and interval > 1 else None
        self.blocked, dropped, searched = False, 0, False
        background = spare and self._background()
        if gray is not None and image.shape[:2] == self._shape:
            if self._pending is not None:
                self._pending.frames_left -= 1
                if self._pending.frames_left <= 0:
                    dropped, searched = self._adopt_search()
            if self._faces and (background or self._since_full + 1 < interval):
                followed = self._follow_and_search_changes(image, gray)
                if followed is not None:
                    self._since_full += 1
                    if background and self._since_full >= interval and self._pending is None:
                        self._start_search(image, gray)
                    return followed, dropped, searched
        self._pending = None
        detections, dropped = self.detector.detect_checked(image)
        if gray is not None:
            self._searched(gray, detections)
        else:
            self._faces = []
        self._since_full, self._shape, self.blocked = 0, image.shape[:2], True
        return detections, dropped, True

    def _background(self) -> bool:
        return self._make_background is not None and \
            self.detector.config.full_detection_in_background

    def _searched(self, gray: np.ndarray, detections: list[Detection]) -> None:
        """The faces of a whole-frame search of ``gray`` are the ones followed from now."""
        self._faces = [FollowedFace.from_frame(gray, d) for d in detections]
        self._view, self._searched_boxes = reduced(gray), [d.box for d in detections]

    def _start_search(self, image: np.ndarray, gray: np.ndarray) -> None:
        """Search this frame whole on the background thread; frame + SEARCH_FRAMES takes
        its faces."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="fer_full_search")
            self._background_detector = self._make_background()
        # a copy: the caller may reuse the frame's buffer (camera drivers, video readers)
        self._pending = PendingSearch(
            self._pool.submit(self._background_detector.detect_checked, image.copy()), gray)
        self._since_full = 0

    def _adopt_search(self) -> tuple[int, bool]:
        """The faces a background search found (of frame N; this is N + SEARCH_FRAMES)
        replace the followed ones (they are followed into this frame next). Waits for it if
        it is still running, so results do not depend on timing: frame N's search is always
        taken at N + SEARCH_FRAMES. Returns (faces ``max_faces`` cut, whether a search was
        taken)."""
        pending, self._pending = self._pending, None
        try:
            detections, dropped = pending.future.result()
        except Exception as exc:  # noqa: BLE001 - keep following; the next search retries
            log.warning("background face search failed (%s: %s); faces stay followed",
                        type(exc).__name__, exc)
            return 0, False
        self._searched(pending.gray, detections)
        return dropped, True

    def _follow_and_search_changes(self, image, gray) -> list[Detection] | None:
        """The followed faces plus any found where the view changed; None: search all."""
        view = reduced(gray)
        followed = self._follow(gray, view)
        if followed is None:
            return None
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

    def _follow(self, gray: np.ndarray, view: np.ndarray) -> list[Detection] | None:
        """Every face of the last search in this frame, or None when one is lost."""
        minimum, found = self.detector.config.min_face_size, []
        for face in self._faces:
            detection = face.follow(gray, view, CHANGE_SCALE)
            if detection is None or min(detection.box.w, detection.box.h) < minimum:
                return None
            found.append(detection)
        return found
