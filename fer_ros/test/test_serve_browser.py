"""The `fer-ros serve` page in a real headless Chromium: photos, a video clip and a (fake)
webcam, labels read from the rendered DOM. Screenshots go to out/serve_screenshots/
(git-ignored: they show CK+ faces)."""
from __future__ import annotations

import pytest

from fer_ros.core.labels import canonical_label
from fer_ros.core.bundle import load_bundle

from browser_helpers import screenshot, start_browser, wait_for, write_y4m
from serve_helpers import ck_scene, require_shared, running_server, write_photo

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def server():
    require_shared()
    with running_server() as (url, process):
        yield url


def _labels(driver, css: str) -> list[str]:
    """Texts of the matching elements, read in one go (the webcam card re-renders per frame,
    so element handles go stale between two WebDriver calls)."""
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", css)
    return [canonical_label(t) or t for t in texts]  # happy/happiness: any bundle's spelling


def _open(driver, url: str) -> None:
    driver.get(url)
    wait_for(lambda: driver.execute_script("return document.body.dataset.ready") == "1",
             30, "the page to load the model description", driver)


def test_photos_show_their_labels_and_bars(server, tmp_path):
    from selenium.webdriver.common.by import By
    photos = [write_photo(tmp_path, f"{label}.png", ck_scene(label, 0))
              for label in ("happy", "surprise")]
    driver = start_browser()
    try:
        _open(driver, server)
        info = driver.find_element(By.ID, "model-info").text
        assert load_bundle(None).name in info and "accuracy" in info, info
        driver.find_element(By.ID, "files").send_keys("\n".join(str(p) for p in photos))
        wait_for(lambda: len(_labels(driver, "#results .result .face-label")) == 2, 60,
                 "two labelled faces in the results", driver)
        # newest first: the surprise photo was analysed second
        assert _labels(driver, "#results .result .face-label") == ["surprise", "happy"]
        bars = driver.find_elements(By.CSS_SELECTOR, "#results .result .bar")
        classes = len(load_bundle(None).labels)
        assert len(bars) == 2 * classes, f"one bar per class and face, got {len(bars)}"
        assert driver.find_element(By.ID, "row-count").text == "2 faces"
        assert driver.find_element(By.ID, "download-csv").is_enabled()
        shot = screenshot(driver, "photos.png")
        assert shot.stat().st_size > 10_000
    finally:
        driver.quit()


def test_webcam_with_a_fake_camera_shows_labels_and_fps(server, tmp_path):
    from selenium.webdriver.common.by import By
    clip = write_y4m(tmp_path / "camera.y4m", [ck_scene("happy", 0)] * 10)
    driver = start_browser("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                           f"--use-file-for-fake-video-capture={clip}")
    try:
        _open(driver, server)
        driver.find_element(By.ID, "webcam-start").click()
        wait_for(lambda: _labels(driver, "#stream-card .face-label") == ["happy"], 60,
                 "the webcam card to show the happy face", driver)
        fps = wait_for(lambda: float(driver.find_element(By.ID, "fps")
                                     .get_attribute("data-fps")), 30,
                       "a measured frame rate", driver)
        assert 0 < fps < 100, fps
        # tracked: the same face keeps its id across frames
        title = _labels(driver, "#stream-card .face > div:first-child")[0]
        assert "#" in title, f"a webcam face should carry its track id: {title!r}"
        screenshot(driver, "webcam.png")
        driver.find_element(By.ID, "webcam-stop").click()
        wait_for(lambda: "stopped" in driver.find_element(By.ID, "status").text, 20,
                 "the webcam to stop", driver)
    finally:
        driver.quit()


def _write_webm(path, frames, fps: int = 10):
    """A VP8 WebM clip (a format every Chromium plays); skip if this OpenCV cannot write it."""
    import cv2
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), fps, (width, height))
    if not writer.isOpened():
        pytest.fail(f"OpenCV cannot write a VP8 WebM clip here ({cv2.__version__})")
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def test_video_clip_is_analysed_while_it_plays(server, tmp_path):
    from selenium.webdriver.common.by import By
    frames = [ck_scene("surprise", 0)] * 30 + [ck_scene("happy", 0)] * 30
    clip = _write_webm(tmp_path / "clip.webm", frames)
    driver = start_browser("--autoplay-policy=no-user-gesture-required")
    try:
        _open(driver, server)
        driver.find_element(By.ID, "files").send_keys(str(clip))
        seen = set()

        def both_seen():
            seen.update(_labels(driver, "#stream-card .face-label"))
            return {"surprise", "happy"} <= seen
        wait_for(both_seen, 60, "the clip's surprise and then happy face", driver)
        wait_for(lambda: "done" in driver.find_element(By.ID, "status").text, 30,
                 "the clip to end", driver)
        rows = int(driver.find_element(By.ID, "row-count").text.split()[0])
        assert rows >= 2, f"{rows} face rows from a 6 s clip"
        screenshot(driver, "video.png")
    finally:
        driver.quit()
