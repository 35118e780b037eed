"""The shared label-synonym table (fer_ros.core.labels), used by detect and evaluate."""
from fer_ros.core.labels import SYNONYMS, LabelMatcher, canonical_label

FER2013 = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_dataset_spellings_map_to_canonical_names():
    pairs = {"happiness": "happy", "Anger": "angry", "SADNESS": "sad", "surprised": "surprise",
             "fearful": "fear", "disgusted": "disgust", " Neutral ": "neutral",
             "contempt": "contempt", "HAP": "happy"}
    for name, want in pairs.items():
        assert canonical_label(name) == want, f"{name!r} should map to {want!r}"


def test_unknown_names_are_not_guessed():
    for name in ("calm", "happpy", "", "3", "unknown"):
        assert canonical_label(name) is None, f"{name!r} must not be matched to an emotion"


def test_matcher_indexes_model_labels_and_reports_unmatched():
    m = LabelMatcher(FER2013)
    assert m.indices(["happiness", "anger", "neutral"]) == [3, 0, 6]
    # contempt is a known emotion, but this model has no such class: reported, not guessed.
    assert m.index("contempt") is None
    assert m.index("bored") is None
    assert m.index("bored") is None
    assert dict(m.unmatched) == {"contempt": 1, "bored": 2}
    msg = m.unmatched_message()
    assert "'bored' x2" in msg and "'contempt' x1" in msg and "labels.py" in msg


def test_model_with_synonym_labels_matches_too():
    # A model trained on FER+ names ("happiness") must still match FER2013 names.
    m = LabelMatcher(["neutral", "happiness", "surprise", "sadness", "anger"])
    assert m.indices(["happy", "sad", "angry"]) == [1, 3, 4]
    assert not m.unmatched


def test_each_spelling_listed_once():
    spellings = [s for c, others in SYNONYMS.items() for s in (c, *others)]
    assert len(spellings) == len(set(spellings))
