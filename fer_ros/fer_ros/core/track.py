"""Face tracking across frames: IoU association -> stable ids, smoothed probabilities.

    tracker = IouTracker(TrackerConfig(smoothing=0.5, max_missed=5))
    ids, probs = tracker.update(boxes, probs)   # one call per frame, in frame order

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


class IouTracker:
    """Keeps face tracks; disabled -> ids are -1 and probabilities pass through."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.tracks: list[Track] = []
        self._next_id = 0

    def reset(self) -> None:
        self.tracks.clear()
        self._next_id = 0

    def update_config(self, **changes) -> None:
        self.config = dataclasses.replace(self.config, **changes)
        if not self.config.enabled:
            self.reset()

    def update(self, boxes: list[Box], probs: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Match this frame's faces to tracks; returns their ids and (smoothed) probabilities."""
        if not self.config.enabled:
            return [-1] * len(boxes), probs
        pairs = self._associate(boxes)
        ids, out = [-1] * len(boxes), np.array(probs, np.float32, copy=True)
        alpha = self.config.smoothing
        matched_tracks = set()
        for det, ti in pairs.items():
            track = self.tracks[ti]
            track.box, track.missed, track.hits = boxes[det], 0, track.hits + 1
            track.probs = (alpha * track.probs + (1.0 - alpha) * out[det]).astype(np.float32)
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
                track = Track(self._next_id, boxes[det], out[det].copy())
                self._next_id += 1
                self.tracks.append(track)
                ids[det] = track.track_id
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
