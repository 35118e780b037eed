"""Searching the whole frame every Nth frame and following faces between: on streams of
real faces moving, against the detector searching every frame."""
import time

import cv2
import numpy as np
import pytest

from fer_ros.core.config import DetectorConfig, PipelineConfig
from fer_ros.core.detect import make_detector
from fer_ros.core.detect_schedule import DetectionSchedule
from fer_ros.core.pipeline import SPARE_S, Pipeline
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
    tracking = Pipeline(PipelineConfig.from_dict({"classifier": {"threads": 1},
                                                  "detector": {"full_detection_interval": 5}}),
                        default_bundle)
    full = [tracking.process(s.image).full_detection for s in clip]
    assert full == [True, False, False, False, False] * 2, \
        f"frames back to back must be searched in the frame every 5th frame: {full}"
    tracking.reset_tracks()
    full = []
    for scene in clip:  # a live camera: the pipeline waits for each frame
        time.sleep(2 * SPARE_S)
        full.append(tracking.process(scene.image).full_detection)
    assert full == [True] + [False] * 6 + [True] + [False] * 2, (
        f"faces from whole-frame searches: {full}; with time to spare, frame 5 should be "
        "searched in the background and its faces taken by frame 7")
    tracking.update_thresholds(full_detection_in_background=False)
    full = []
    for scene in clip:
        time.sleep(2 * SPARE_S)
        full.append(tracking.process(scene.image).full_detection)
    assert full == [True, False, False, False, False] * 2, \
        f"background searches off: every 5th frame searched in the frame: {full}"
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


def _background_schedule(interval: int, searched_on: list | None = None, **config):
    """A schedule whose periodic searches run on the background thread; ``searched_on``
    collects the thread name of every search (both detectors)."""
    import threading

    def recorded(detector):
        real = detector.detect_checked

        def detect_checked(image):
            if searched_on is not None:
                searched_on.append(threading.current_thread().name)
            return real(image)
        detector.detect_checked = detect_checked
        return detector
    make = lambda threads: recorded(make_detector(  # noqa: E731
        DetectorConfig(full_detection_interval=interval, threads=threads, **config)))
    return DetectionSchedule(make(2), lambda: make(1))


def test_the_periodic_search_runs_beside_the_frame_and_is_taken_by_the_next(streams):
    """Background mode (the pipeline's default): the 5th frame is followed and does not wait
    for its whole-frame search, which runs on another thread; two frames later its faces
    are taken. The outcome does not depend on timing: two runs give the same boxes."""
    import threading
    threads = []
    schedule = _background_schedule(5, threads)
    clip = streams[2][:12]
    runs = []
    for _ in range(2):
        schedule.reset()
        threads.clear()
        rows = []
        for scene in clip:
            detections, _, full = schedule.detect(scene.image, stream=True, spare=True)
            rows.append(([d.box.as_tuple() for d in detections], full, schedule.blocked))
        runs.append(rows)
    assert [r[2] for r in runs[0]] == [True] + [False] * 11, \
        f"frames that waited for a search: {[r[2] for r in runs[0]]}; only frame 0 should"
    assert [r[1] for r in runs[0]] == [True] + [False] * 6 + [True] + [False] * 4, \
        f"faces from whole-frame searches: {[r[1] for r in runs[0]]}"
    main = threading.current_thread().name
    assert threads[0] == main, f"frame 0 (nothing followed yet) must be searched at once: {threads}"
    assert sum(name.startswith("fer_full_search") for name in threads) == 2, \
        f"frames 5 and 10 should have been searched in the background: {threads}"
    assert runs[0] == runs[1], "the same stream gave different faces: results depend on timing"
    schedule.close()


def test_a_reset_drops_a_running_search_and_settings_reach_both_detectors(streams):
    clip = streams[0][:8]
    schedule = _background_schedule(2)
    for scene in clip[:3]:
        schedule.detect(scene.image, stream=True, spare=True)
    assert schedule._pending is not None, "set-up: frame 2 should have started a search"
    schedule.reset()
    _, _, full = schedule.detect(clip[3].image, stream=True)
    assert full and schedule.blocked, "after reset the frame must be searched whole at once"
    schedule.update_detector(score_threshold=0.75)
    assert schedule.detector.config.score_threshold == 0.75
    assert schedule._background_detector.config.score_threshold == 0.75, \
        "a runtime setting did not reach the background search's detector"
    schedule.close()
    in_frame = DetectionSchedule(make_detector(DetectorConfig(full_detection_interval=2)))
    blocked = []
    for scene in clip[:5]:
        in_frame.detect(scene.image, stream=True)
        blocked.append(in_frame.blocked)
    assert blocked == [True, False, True, False, True], \
        f"without a background detector every 2nd frame must be searched in the frame ({blocked})"


def test_a_failed_background_search_keeps_the_faces_followed(streams, caplog):
    clip = streams[1][:10]
    schedule = _background_schedule(3)
    first, _, _ = schedule.detect(clip[0].image, stream=True)

    def failing(image):  # a fault injected into the background search only
        raise RuntimeError("injected: out of memory")
    for scene in clip[1:4]:  # frame 3 starts the first background search
        schedule.detect(scene.image, stream=True, spare=True)
    schedule._background_detector.detect_checked = failing
    for scene in clip[4:10]:  # frame 6 starts a search that fails; frame 8 takes the failure
        detections, _, _ = schedule.detect(scene.image, stream=True, spare=True)
    assert len(detections) == len(first), "a failed background search lost followed faces"
    assert "background face search failed" in caplog.text and "injected" in caplog.text
    schedule.close()
