"""REP-155 (ROS4HRI) mappings that need no ROS: face ids, expression names, valence/arousal.

The message modules (:mod:`fer_ros.ros.hri_output`, :mod:`fer_ros.ros.hri_input`) turn these
into hri_msgs messages; keeping the mapping here lets it be tested without hri_msgs.

Face ids. REP-155 ids are strings that stay the same while a face is tracked. The node's
tracker gives integers; they are written the way hri_face_detect writes its deterministic ids,
``"f%05d"`` (track 12 -> ``"f00012"``, track 123456 -> ``"f123456"``). hri_face_detect's
default ids are five random lower-case letters. Both forms map one to one onto the uint32
``fer_ros_msgs/Emotion.face_id`` (:func:`face_id_of`), so an EmotionArray names the same face
as the ``/humans/faces/<id>/...`` topics: ``"f00012"`` -> 12, ``"abcde"`` -> 0x80000000 + its
base-26 value. Any other string gets a node-local number from 0xC0000000 up (stable while the
node runs, not decodable).

Expressions. Each class of the bundle is matched through the project's one synonym table
(:mod:`fer_ros.core.labels`) to the name of an ``hri_msgs/Expression`` constant. ``contempt``
has no constant in hri_msgs 2.0.0 and is left out: when it is the most probable class, the
expression is the most probable class that has a constant.

Valence/arousal. The expected point of the class probabilities on Russell's circumplex
(Russell, J. A. (1980), "A circumplex model of affect", Journal of Personality and Social
Psychology 39(6), 1161-1178, Table 3, direct circular scaling): each emotion sits on the unit
circle at the angle Russell measured for its word, valence = cos, arousal = sin. Words used:
happy 7.8 deg, astonished 69.8 (surprise), angry 99.0, afraid 116.9 (fear), sad 207.5.
Disgust is not among Russell's 28 words: it is placed at 130 deg, between "annoyed" (123.0)
and "distressed" (137.6), a project choice. Neutral is the centre (0, 0). Classes without
coordinates (contempt) add nothing, so their probability pulls the point towards the centre.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np

from fer_ros.core.labels import canonical_label

#: canonical label (core.labels) -> hri_msgs/Expression constant name
EXPRESSION_CONSTANTS: dict[str, str] = {
    "angry": "ANGRY",
    "disgust": "DISGUSTED",
    "fear": "SCARED",
    "happy": "HAPPY",
    "sad": "SAD",
    "surprise": "SURPRISED",
    "neutral": "NEUTRAL",
}
#: canonical labels deliberately without an Expression constant
UNMAPPED = ("contempt",)

#: canonical label -> angle in degrees on Russell's (1980) circumplex; None = the centre
CIRCUMPLEX_DEGREES: dict[str, float | None] = {
    "happy": 7.8, "surprise": 69.8, "angry": 99.0, "fear": 116.9, "disgust": 130.0,
    "sad": 207.5, "neutral": None,
}

_TRACK_ID = re.compile(r"f(\d{5,})")
_LETTERS = re.compile(r"[a-z]{5}")
LETTER_IDS_BASE = 0x8000_0000
LOCAL_IDS_BASE = 0xC000_0000


def rep_face_id(track_id: int) -> str:
    """Tracker id -> REP-155 face id string (``"f00012"``); untracked faces are not REP faces."""
    if track_id < 0:
        raise ValueError(f"face with track id {track_id} is untracked: it has no REP-155 id; "
                         "enable pipeline.tracker.enabled")
    return f"f{int(track_id):05d}"


class FaceIdCodec:
    """REP-155 id string <-> fer_ros_msgs/Emotion.face_id (uint32), one to one."""

    def __init__(self) -> None:
        self._local: dict[str, int] = {}
        self._next_local = LOCAL_IDS_BASE

    def face_id_of(self, rep_id: str) -> int:
        match = _TRACK_ID.fullmatch(rep_id)
        if match and int(match.group(1)) < LETTER_IDS_BASE \
                and rep_face_id(int(match.group(1))) == rep_id:  # "f0000012" is not canonical
            return int(match.group(1))
        if _LETTERS.fullmatch(rep_id):
            value = 0
            for char in rep_id:
                value = value * 26 + (ord(char) - ord("a"))
            return LETTER_IDS_BASE + value
        if rep_id not in self._local:
            self._local[rep_id] = self._next_local
            self._next_local += 1
        return self._local[rep_id]

    @staticmethod
    def rep_id_of(face_id: int) -> str | None:
        """The REP-155 id of a decodable face_id (f-digits or five letters), else None."""
        if face_id < LETTER_IDS_BASE:
            return rep_face_id(face_id)
        value = face_id - LETTER_IDS_BASE
        if face_id >= LOCAL_IDS_BASE or value >= 26 ** 5:
            return None
        chars = []
        for _ in range(5):
            value, digit = divmod(value, 26)
            chars.append(chr(ord("a") + digit))
        return "".join(reversed(chars))

    def forget(self, rep_id: str) -> None:
        """Drop a gone face's local number (numbers are never reused)."""
        self._local.pop(rep_id, None)


class ExpressionMapper:
    """Class probabilities of one bundle -> (Expression constant name, confidence, V, A)."""

    def __init__(self, labels: Sequence[str]) -> None:
        canon = [canonical_label(label) or str(label) for label in labels]
        self.constants = [EXPRESSION_CONSTANTS.get(c) for c in canon]
        self.unmapped = [str(label) for label, c in zip(labels, self.constants) if c is None]
        coords = np.zeros((len(labels), 2), np.float64)
        for i, c in enumerate(canon):
            degrees = CIRCUMPLEX_DEGREES.get(c)
            if degrees is not None:
                rad = math.radians(degrees)
                coords[i] = (math.cos(rad), math.sin(rad))
        self.coords = coords
        if not any(self.constants):
            raise ValueError(f"no class of {list(labels)} has an hri_msgs/Expression constant; "
                             f"known: {sorted(EXPRESSION_CONSTANTS)} (and their synonyms)")

    def map(self, probs: np.ndarray) -> tuple[str, float, float, float]:
        """(constant name, its probability, valence, arousal) for one face's probabilities."""
        probs = np.asarray(probs, np.float64)
        order = np.argsort(-probs, kind="stable")
        best = next(int(i) for i in order if self.constants[i] is not None)
        valence, arousal = (probs @ self.coords).tolist()
        clip = lambda v: float(min(max(v, -1.0), 1.0))  # noqa: E731 - float rounding only
        return self.constants[best], float(probs[best]), clip(valence), clip(arousal)
