"""REP-155 mappings without ROS: face ids, Expression constant names, valence/arousal."""
from __future__ import annotations

import numpy as np
import pytest

from fer_ros.core.labels import SYNONYMS
from fer_ros.ros.hri_mapping import (EXPRESSION_CONSTANTS, LETTER_IDS_BASE, LOCAL_IDS_BASE,
                                     UNMAPPED, ExpressionMapper, FaceIdCodec, rep_face_id)

FER2013 = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FERPLUS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")


def one_hot(labels, name):
    probs = np.zeros(len(labels), np.float32)
    probs[labels.index(name)] = 1.0
    return probs


def test_every_canonical_label_is_mapped_or_listed_as_unmapped():
    assert set(EXPRESSION_CONSTANTS) | set(UNMAPPED) == set(SYNONYMS), \
        "a label of core/labels.py SYNONYMS has no Expression constant and no UNMAPPED entry"


@pytest.mark.parametrize("labels", [FER2013, FERPLUS])
def test_one_hot_classes_map_to_their_constant(labels):
    mapper = ExpressionMapper(labels)
    want = {"angry": "ANGRY", "anger": "ANGRY", "disgust": "DISGUSTED", "fear": "SCARED",
            "happy": "HAPPY", "happiness": "HAPPY", "sad": "SAD", "sadness": "SAD",
            "surprise": "SURPRISED", "neutral": "NEUTRAL"}
    for label in labels:
        if label in want:
            name, confidence, _, _ = mapper.map(one_hot(labels, label))
            assert (name, confidence) == (want[label], 1.0), f"{label} -> {name} {confidence}"
    assert mapper.unmapped == (["contempt"] if "contempt" in labels else [])


def test_contempt_on_top_gives_the_best_class_with_a_constant():
    probs = np.array([0.1, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7], np.float32)  # FER+ order
    name, confidence, _, _ = ExpressionMapper(FERPLUS).map(probs)
    assert (name, round(confidence, 3)) == ("HAPPY", 0.2), "contempt must fall back to happiness"


def test_valence_arousal_follow_the_circumplex():
    mapper = ExpressionMapper(FER2013)
    va = {label: mapper.map(one_hot(FER2013, label))[2:] for label in FER2013}
    assert va["neutral"] == (0.0, 0.0)
    assert va["happy"][0] > 0.9 and 0 < va["happy"][1] < 0.3, va["happy"]
    assert va["sad"][0] < -0.8 and va["sad"][1] < -0.3, va["sad"]
    assert va["angry"][1] > 0.9 and va["fear"][1] > 0.8, (va["angry"], va["fear"])
    assert va["surprise"][0] > 0 and va["surprise"][1] > 0.9, va["surprise"]
    for label in ("angry", "disgust", "fear", "sad"):
        assert va[label][0] < 0, f"{label} must have negative valence, got {va[label]}"
    mixed = mapper.map(np.full(7, 1 / 7, np.float32))
    assert all(-1.0 <= v <= 1.0 for v in mixed[2:]), mixed
    half = mapper.map(0.5 * one_hot(FER2013, "happy") + 0.5 * one_hot(FER2013, "neutral"))
    assert half[2] == pytest.approx(va["happy"][0] / 2, abs=1e-6), "expectation over classes"


def test_labels_without_any_constant_are_refused():
    with pytest.raises(ValueError, match="Expression constant"):
        ExpressionMapper(("contempt", "calm"))


def test_rep_ids_encode_track_ids_like_hri_face_detect():
    assert rep_face_id(12) == "f00012" and rep_face_id(123456) == "f123456"
    with pytest.raises(ValueError, match="untracked"):
        rep_face_id(-1)


def test_codec_round_trips_both_hri_face_detect_id_forms():
    codec = FaceIdCodec()
    for track_id in (0, 12, 99999, 123456):
        rep = rep_face_id(track_id)
        assert codec.face_id_of(rep) == track_id and codec.rep_id_of(track_id) == rep
    seen = set()
    for rep in ("aaaaa", "abcde", "zzzzz", "qwert"):
        face_id = codec.face_id_of(rep)
        assert LETTER_IDS_BASE <= face_id < LOCAL_IDS_BASE and codec.rep_id_of(face_id) == rep
        seen.add(face_id)
    assert len(seen) == 4


def test_other_ids_get_stable_local_numbers():
    codec = FaceIdCodec()
    a, b = codec.face_id_of("person_7"), codec.face_id_of("f0000012")  # not canonical f%05d
    assert a != b and a >= LOCAL_IDS_BASE and b >= LOCAL_IDS_BASE
    assert codec.face_id_of("person_7") == a, "a local id must stay the same while tracked"
    assert codec.rep_id_of(a) is None
    codec.forget("person_7")
    assert codec.face_id_of("person_7") not in (a, b), "local numbers are never reused"


def test_hri_parameters_are_validated():
    from fer_ros.core.errors import ConfigError
    from fer_ros.ros import params
    config = params.build_config({})
    assert (config.source, config.hri_image, config.hri_enabled, config.hri_prefix,
            config.detections_enabled) == ("camera", "aligned", True, "/humans/faces", True)
    assert params.build_config({"hri.prefix": "/humans/front/faces"}).hri_prefix == \
        "/humans/front/faces"
    for bad in ("humans/faces", "/humans/faces/", "/humans//faces", "/humans/fa ces", ""):
        with pytest.raises(ConfigError, match="hri.prefix"):
            params.build_config({"hri.prefix": bad})
    with pytest.raises(ConfigError, match="input.source"):
        params.build_config({"input.source": "kinect"})
    with pytest.raises(ConfigError, match="restart"):
        params.check_update({name: spec.default for name, spec in params.SPECS.items()},
                            {"input.source": "hri"})
