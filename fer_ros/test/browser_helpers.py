"""A real headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium.

Browser downloads are unreachable here, so the system browser and driver are used; Selenium
Manager is never asked to fetch one. Missing browser: skip with the install command, but
fail under CI (scripts/setup.sh installs both when run as root).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
#: git-ignored (out/): screenshots show CK+ faces, which may not be redistributed
SCREENSHOTS = REPO / "out" / "serve_screenshots"
INSTALL = "apt-get install -y chromium chromium-driver (or run scripts/setup.sh as root)"


def find_browser() -> tuple[str, str]:
    """(chromium, chromedriver) paths, or skip/fail saying how to install them."""
    import pytest
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        missing = "chromium" if not browser else "chromedriver"
        message = f"{missing} not found; browser tests need it: {INSTALL}"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(message)
    return browser, driver


def start_browser(*extra_args: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1100", *extra_args):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def wait_for(predicate, timeout: float, what: str, driver=None):
    """Poll ``predicate()`` until truthy; fail naming ``what`` and the page's status line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    status = ""
    if driver is not None:
        status = driver.execute_script(
            "return (document.getElementById('status')||{}).textContent")
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} "
                         f"(page status: {status!r})")


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    driver.save_screenshot(str(path))
    return path


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """A raw YUV4MPEG2 (4:2:0) clip: what Chromium's fake camera plays in a loop."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path
