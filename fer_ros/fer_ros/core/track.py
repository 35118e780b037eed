"""Face tracking across frames: IoU association -> stable ids, smoothed probabilities.

    tracker = IouTracker(TrackerConfig(smoothing=0.5, max_missed=5))
    ids, probs = tracker.update(boxes, probs)   # one call per frame, in frame order

    due = tracker.due(boxes)                    # or classify only the faces whose turn it is
    ids, probs = tracker.update(boxes, probs_of_due_rows_else_anything, due)

Association is greedy on IoU (best pairs first): with the few faces of a robot's
view this equals the optimal assignment in practice and stays O(n*m log nm).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from fer_ros.core.config import TrackerConfig
from fer_ros.core.types import Box


@dataclass
class Track:
    track_id: int
    box: Box
    probs: np.ndarray
    missed: int = 0
    hits: int = 1
    classified_at: int = 0  # the tracker's frame count when its probabilities were measured


class IouTracker:
    """Keeps face tracks; disabled -> ids are -1 and probabilities pass through."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.tracks: list[Track] = []
        self._next_id = 0
        self._frame = 0
        self._deferred = -2  # the last frame whose followed faces waited (busy)

    def reset(self) -> None:
        self.tracks.clear()
        self._next_id = 0
        self._frame = 0
        self._deferred = -2

    def due(self, boxes: list[Box], busy: bool = False) -> list[bool]:
        """Which of this frame's faces to classify: all with ``classify_interval`` 1 or
        tracking off; else new faces, and followed ones on their turn (every Nth frame,
        offset by track id so 3 faces at N = 2 cost 2, 1, 2, 1 classifications, not 3, 0)
        or when their probabilities are N frames old (a face back after missed frames).

        ``busy``: this frame already pays for a full detector search, so followed faces
        wait for the next one (never two frames running): the costly stages do not pile
        up on one frame, which is what sets the latency's tail. A followed face's
        probabilities are then at most N + 1 frames old."""
        interval = self.config.classify_interval
        if not self.config.enabled or interval <= 1:
            return [True] * len(boxes)
        pairs = self._associate(boxes)
        wait = busy and self._deferred != self._frame - 1
        if wait:
            self._deferred = self._frame
        due = []
        for det in range(len(boxes)):
            track = self.tracks[pairs[det]] if det in pairs else None
            due.append(track is None or not wait and (
                (self._frame + track.track_id) % interval == 0
                or self._frame - track.classified_at >= interval))
        return due

    def update_config(self, **changes) -> None:
        self.config = dataclasses.replace(self.config, **changes)
        if not self.config.enabled:
            self.reset()

    def update(self, boxes: list[Box], probs: np.ndarray,
               due: list[bool] | None = None) -> tuple[list[int], np.ndarray]:
        """Match this frame's faces to tracks; returns their ids and (smoothed) probabilities.

        ``due`` (from :meth:`due` on the same boxes): rows that are False were not
        classified; those faces get their track's probabilities unchanged."""
        if not self.config.enabled:
            return [-1] * len(boxes), probs
        due = [True] * len(boxes) if due is None else due
        pairs = self._associate(boxes)
        ids, out = [-1] * len(boxes), np.array(probs, np.float32, copy=True)
        alpha = self.config.smoothing
        matched_tracks = set()
        for det, ti in pairs.items():
            track = self.tracks[ti]
            track.box, track.missed, track.hits = boxes[det], 0, track.hits + 1
            if due[det]:
                track.probs = (alpha * track.probs + (1.0 - alpha) * out[det]).astype(np.float32)
                track.classified_at = self._frame
            out[det], ids[det] = track.probs, track.track_id
            matched_tracks.add(ti)
        survivors = []
        for ti, track in enumerate(self.tracks):
            if ti not in matched_tracks:
                track.missed += 1
            if track.missed <= self.config.max_missed:
                survivors.append(track)
        self.tracks = survivors
        for det in range(len(boxes)):
            if ids[det] == -1:
                if not due[det]:
                    raise ValueError(f"face {det} starts a track but was not classified: "
                                     "pass due() of the same boxes, before this update()")
                track = Track(self._next_id, boxes[det], out[det].copy(),
                              classified_at=self._frame)
                self._next_id += 1
                self.tracks.append(track)
                ids[det] = track.track_id
        self._frame += 1
        return ids, out

    def _associate(self, boxes: list[Box]) -> dict[int, int]:
        """detection index -> track index, best IoU first, each used once."""
        candidates = []
        for d, box in enumerate(boxes):
            for t, track in enumerate(self.tracks):
                iou = box.iou(track.box)
                if iou >= self.config.iou_threshold and iou > 0:
                    candidates.append((iou, d, t))
        candidates.sort(reverse=True)
        pairs, used_tracks = {}, set()
        for _, d, t in candidates:
            if d not in pairs and t not in used_tracks:
                pairs[d] = t
                used_tracks.add(t)
        return pairs
