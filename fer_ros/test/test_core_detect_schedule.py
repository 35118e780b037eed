"""Searching the whole frame every Nth frame and following faces between: on streams of
real faces moving, against the detector searching every frame."""
import cv2
import numpy as np
import pytest

from fer_ros.core.config import DetectorConfig, PipelineConfig
from fer_ros.core.detect import make_detector
from fer_ros.core.detect_schedule import DetectionSchedule
from fer_ros.core.pipeline import Pipeline
from fer_ros.core.face_follow import FollowedFace
from fer_ros.core.types import Box, Detection

import faces


@pytest.fixture(scope="module")
def streams(shared_dir):
    """Four 40-frame clips of 3 PublicTest faces (60..170 px) moving 6 px per frame."""
    images, labels = faces.fer2013_faces("PublicTest", limit=60)
    return [faces.moving_stream(images[k * 3:k * 3 + 3], list(labels[k * 3:k * 3 + 3]),
                                face_px=(60, 170), frames=40, speed_px=6, seed=k)
            for k in range(4)]


def _run(schedule, clip):
    """Per frame: (faces matched to the placed ones, IoU of each match, full search?)."""
    rows = []
    for scene in clip:
        detections, _, full = schedule.detect(scene.image, stream=True)
        found = [d.box for d in detections]
        matches = faces.match_boxes(scene.boxes, found)
        ious = [scene.boxes[i].iou(found[j]) for i, j in enumerate(matches) if j is not None]
        rows.append((sum(m is not None for m in matches), ious, full))
    return rows


def test_following_finds_what_searching_every_frame_finds(streams):
    every = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=1)))
    fifth = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=5)))
    found = {"every": 0, "fifth": 0}
    ious = {"every": [], "fifth": []}
    full_searches = 0
    for clip in streams:
        for name, schedule in (("every", every), ("fifth", fifth)):
            schedule.reset()
            rows = _run(schedule, clip)
            found[name] += sum(r[0] for r in rows)
            ious[name] += [i for r in rows for i in r[1]]
            if name == "fifth":
                full_searches += sum(r[2] for r in rows)
    frames = sum(len(c) for c in streams)
    assert found["fifth"] >= found["every"] - 0.01 * 3 * frames, (
        f"following lost faces: {found['fifth']} face-frames found against "
        f"{found['every']} when the detector searches every frame")
    assert np.mean(ious["fifth"]) >= np.mean(ious["every"]) - 0.03, (
        f"followed boxes fit the faces worse: mean IoU {np.mean(ious['fifth']):.3f} vs "
        f"{np.mean(ious['every']):.3f}")
    assert full_searches <= frames / 5 + len(streams) * 2, (
        f"{full_searches} full searches in {frames} frames: following keeps losing faces")


def test_faces_entering_an_empty_view_are_found_at_once(streams):
    schedule = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=5)))
    background = faces.textured_background(640, 480, np.random.default_rng(3))
    schedule.detect(background, stream=True)  # nothing in view
    detections, _, full = schedule.detect(streams[0][0].image, stream=True)
    assert full and len(detections) >= 2, "faces walking into an empty view were not found"


def test_a_face_entering_beside_followed_ones_is_found_in_that_frame(streams):
    clip, side = streams[0][:6], 120
    x, y = _free_square(clip, side)
    images, _ = faces.fer2013_faces("PublicTest", limit=60)
    newcomer = cv2.cvtColor(cv2.resize(images[59], (side, side)), cv2.COLOR_GRAY2BGR)
    box = Box(float(x), float(y), float(side), float(side))
    schedule = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=5)))
    for late, scene in enumerate(clip):
        frame = scene.image.copy()
        if late:  # from the 2nd frame on, a new face away from the clip's faces
            frame[y:y + side, x:x + side] = newcomer
        detections, _, full = schedule.detect(frame, stream=True)
        if late and faces.match_boxes([box], [d.box for d in detections])[0] is not None:
            break
    waited = late - 1  # it entered in clip[1]
    assert waited == 0, f"a face entering beside followed faces was found {waited} frames later"
    assert not full, "the change was searched by a full search, not just where it happened"
    assert len(detections) == 4, f"the followed faces were not kept: {detections}"


def _free_square(clip, side: int, gap: int = 10):
    """A side x side square of the frame that no face of ``clip`` comes near."""
    boxes = [b for scene in clip for b in scene.boxes]
    for y in range(0, 480 - side, 10):
        for x in range(0, 640 - side, 10):
            if all(x + side + gap < b.x or b.x + b.w + gap < x or y + side + gap < b.y
                   or b.y + b.h + gap < y for b in boxes):
                return x, y
    pytest.fail("test set-up: no free place for a new face in the clip")


def test_a_face_that_leaves_or_a_scene_cut_is_handled_in_that_frame(streams):
    schedule = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=5)))
    _run(schedule, streams[0][:2])  # a full search, then one followed frame
    cut = streams[1][0]
    detections, _, full = schedule.detect(cut.image, stream=True)
    matched = faces.match_boxes(cut.boxes, [d.box for d in detections])
    assert full, "after a scene cut the frame was not searched whole"
    assert sum(m is not None for m in matched) >= 2, "the new scene's faces were not found"
    empty = faces.textured_background(640, 480, np.random.default_rng(5))
    detections, _, full = schedule.detect(empty, stream=True)
    assert full and detections == [], f"faces that left are still reported: {detections}"


def test_photos_and_new_frame_sizes_are_searched_whole(streams):
    schedule = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=5)))
    clip = streams[2]
    assert all(schedule.detect(s.image, stream=False)[2] for s in clip[:4]), \
        "unrelated photos (stream=False) must each be searched whole"
    schedule.detect(clip[0].image, stream=True)
    smaller = clip[1].image[:400, :600]
    assert schedule.detect(smaller, stream=True)[2], "a new frame size was not searched whole"


def test_the_pipeline_follows_on_streams_only_and_the_interval_changes_at_runtime(
        streams, default_bundle):
    clip = streams[3][:10]
    tracking = Pipeline(PipelineConfig.from_dict({"classifier": {"threads": 1}}),
                        default_bundle)
    full = [tracking.process(s.image).full_detection for s in clip]
    assert full == [True, False, False, False, False] * 2, f"full searches: {full}"
    tracking.update_thresholds(full_detection_interval=1)
    assert all(tracking.process(s.image).full_detection for s in clip[:3])
    photos = Pipeline(PipelineConfig.from_dict({"classifier": {"threads": 1},
                                                "tracker": {"enabled": False}}), default_bundle)
    assert all(photos.process(s.image).full_detection for s in clip[:3]), \
        "a pipeline without tracking (unrelated photos) followed faces between frames"
    tracking.update_thresholds(full_detection_interval=5)
    tracking.reset_tracks()
    assert tracking.process(clip[4].image).full_detection, "reset_tracks: not searched whole"


def test_a_change_of_the_whole_view_is_searched_whole(streams):
    clip = streams[1]
    schedule = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=5)))
    schedule.detect(clip[0].image, stream=True)
    assert not schedule.detect(clip[1].image, stream=True)[2], "set-up: frame 1 not followed"
    brighter = cv2.add(clip[2].image, np.full_like(clip[2].image, 40))  # the lights went on
    detections, _, full = schedule.detect(brighter, stream=True)
    assert full, "the whole view changed but only the followed faces were looked at"
    assert len(detections) >= 2, f"faces lost after the lighting change: {detections}"


def test_a_flat_patch_is_never_followed():
    gray = np.full((120, 160), 90, np.uint8)
    face = FollowedFace.from_frame(gray, Detection(Box(40, 30, 50, 60), 0.7))
    assert face.follow(gray) is None, "a flat patch (no structure) was followed"


def test_followed_faces_classified_in_turns_keep_the_labels_of_every_frame(
        streams, default_bundle):
    """classify_interval 2 (the default) on real faces moving: every face of every frame
    has scores, the classifier runs on about half the face-frames (more on the frames
    after a full search), and the labels agree with classifying every face every frame."""
    def run(interval):
        pipeline = Pipeline(PipelineConfig.from_dict({
            "classifier": {"threads": 1}, "tracker": {"classify_interval": interval}}),
            default_bundle)
        labels, classified, faces_seen = [], 0, 0
        for clip in streams:
            pipeline.reset_tracks()
            for scene in clip:
                result = pipeline.process(scene.image)
                assert all(np.isfinite(f.scores).all() and f.scores.sum() > 0.99
                           for f in result.faces), "a face off its turn has no scores"
                labels.append([(f.track_id, f.label) for f in result.faces])
                classified += result.faces_classified
                faces_seen += len(result.faces)
        return labels, classified / faces_seen

    every, share_every = run(1)
    turns, share_turns = run(2)
    assert share_every == 1.0
    assert 0.4 <= share_turns <= 0.65, \
        f"interval 2 classified {share_turns:.0%} of the face-frames, expected about half"
    same = sum(a == b for a, b in zip(every, turns))
    assert same >= 0.9 * len(every), \
        f"labels differ from classifying every frame on {len(every) - same} of {len(every)} frames"
