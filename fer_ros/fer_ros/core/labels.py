"""The one table of emotion-label synonyms, used wherever dataset labels meet model labels.

Datasets spell the same emotion differently (FER2013 "happy", FER+ "happiness",
CK+ "sadness", AffectNet "anger", ...). Both ``fer-ros detect --labels`` and
``fer-ros evaluate`` match names through this table, so a photo collection is
scored the same way everywhere. Matching is exact after normalisation
(lower case, surrounding spaces dropped, "-"/" " treated as "_"); a name that is
not in the table, or whose emotion the model does not know, is *reported* by the
caller, never guessed.

| canonical  | also accepted                                   |
|------------|-------------------------------------------------|
| angry      | anger, ang                                      |
| disgust    | disgusted, dis                                  |
| fear       | fearful, afraid, scared, fea                    |
| happy      | happiness, joy, hap                             |
| sad        | sadness                                         |
| surprise   | surprised, sur                                  |
| neutral    | neu                                             |
| contempt   | contemptuous, con                               |

The spellings cover FER2013, FER+, CK+, RAF-DB, AffectNet, KDEF and the
three-letter JAFFE codes. "calm" is deliberately absent: RAVDESS uses it as
an emotion distinct from neutral.

This module imports nothing outside the standard library.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

# canonical name -> other spellings. Keep each spelling in exactly one row.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "angry": ("anger", "ang"),
    "disgust": ("disgusted", "dis"),
    "fear": ("fearful", "afraid", "scared", "fea"),
    "happy": ("happiness", "joy", "hap"),
    "sad": ("sadness",),
    "surprise": ("surprised", "sur"),
    "neutral": ("neu",),
    "contempt": ("contemptuous", "con"),
}


def _normalise(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").replace("_", " ").split())


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for canonical, others in SYNONYMS.items():
        for spelling in (canonical, *others):
            key = _normalise(spelling)
            if key in lookup:
                raise AssertionError(f"label synonym {spelling!r} appears twice in SYNONYMS")
            lookup[key] = canonical
    return lookup


_LOOKUP = _build_lookup()


def canonical_label(name: str) -> str | None:
    """The canonical emotion for ``name`` ("Happiness" -> "happy"), or None if unknown."""
    return _LOOKUP.get(_normalise(name))


@dataclass
class LabelMatcher:
    """Maps dataset label names to indices of a model's label list.

    ``index(name)`` returns the model-label index or None; every name that
    found no match is counted in ``unmatched`` so callers can report it.
    """

    model_labels: Sequence[str]
    unmatched: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._by_canonical: dict[str, int] = {}
        for i, label in enumerate(self.model_labels):
            # A model label outside the table still matches itself exactly.
            key = canonical_label(label) or _normalise(label)
            self._by_canonical.setdefault(key, i)

    def index(self, name: str) -> int | None:
        key = canonical_label(name) or _normalise(name)
        idx = self._by_canonical.get(key)
        if idx is None:
            self.unmatched[str(name)] += 1
        return idx

    def indices(self, names: Iterable[str]) -> list[int | None]:
        return [self.index(n) for n in names]

    def unmatched_message(self) -> str:
        """One line naming every unmatched label and its count ('' when all matched)."""
        if not self.unmatched:
            return ""
        listed = ", ".join(f"{name!r} x{n}" for name, n in sorted(self.unmatched.items()))
        return (f"labels with no match among the model's labels {list(self.model_labels)}: "
                f"{listed}. Rename them or add a synonym in fer_ros/core/labels.py.")
