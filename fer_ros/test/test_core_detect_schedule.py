"""Searching the whole frame every Nth frame and following faces between: on streams of
real faces moving, against the detector searching every frame."""
import numpy as np
import pytest

from fer_ros.core.config import DetectorConfig, PipelineConfig
from fer_ros.core.detect import make_detector
from fer_ros.core.detect_schedule import DetectionSchedule
from fer_ros.core.pipeline import Pipeline

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


def test_a_face_entering_is_found_within_the_interval(streams):
    clip = streams[0]
    schedule = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=5)))
    background = faces.textured_background(640, 480, np.random.default_rng(3))
    schedule.detect(background, stream=True)  # nothing in view: a full search
    for late, scene in enumerate(clip[:6]):  # they enter in clip[0]
        detections, _, full = schedule.detect(scene.image, stream=True)
        if detections:
            break
    assert detections and late <= 4, (
        f"faces entering the view were found {late} frames later (interval 5: at most 4)")
    assert full, "the faces were found without the detector searching the frame"


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
