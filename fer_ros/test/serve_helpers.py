"""Helpers for the `fer-ros serve` tests: the real server as a process, photos made from CK+
faces, and multipart uploads with the standard library (what any client would send).

Faces: the default model reads every one of the 207 CK+48 happy and 240 of the 249 surprise
crops right when each is pasted at 200 px on a 640x480 frame (measured with the pipeline;
see docs/serve.md), so the tests use the first sorted crops of each class, not hand-picked
ones.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from faces import CKPLUS_DIR, shared_available
from node_helpers import stop_node
from fer_ros.bench.scenes import compose_frame

READY = re.compile(r"fer-ros serve: (http://\S+/) ")
START_TIMEOUT_S = 60.0  # model loading on a busy 2-core machine


def require_shared() -> None:
    import pytest
    if not shared_available():
        message = "shared datasets not found (CK+ faces make the test photos): set FER_ROS_SHARED"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(message)


def ck_scene(label: str, index: int = 0, size=(640, 480)) -> np.ndarray:
    """A BGR frame with the ``index``-th (sorted) CK+48 ``label`` face pasted at 200 px."""
    files = sorted((CKPLUS_DIR / label).glob("*.png"))
    face = cv2.imread(str(files[index]), cv2.IMREAD_GRAYSCALE)
    return compose_frame([face], [label], frame_size=size, face_px=200, seed=index).image


def jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return data.tobytes()


@contextmanager
def running_server(*args: str, env: dict | None = None):
    """`python -m fer_ros serve --port 0 ARGS` until the block ends; yields (url, process).
    On exit, SIGINT must stop it with exit code 0."""
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen([sys.executable, "-m", "fer_ros", "serve", "--port", "0", *args],
                               stdout=log, stderr=subprocess.STDOUT, text=True,
                               env=env or dict(os.environ, PYTHONUNBUFFERED="1"))
    process.log_file = log
    try:
        yield wait_ready(process), process
    finally:
        code, text = stop_node(process)  # SIGINT, wait, kill on timeout: any child process
    assert code == 0, f"fer-ros serve exited with {code} after SIGINT:\n{text[-4000:]}"


def output(process) -> str:
    process.log_file.seek(0)
    return process.log_file.read()[-4000:]


def wait_ready(process) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = READY.search(output(process))
        if match:
            return match.group(1)
        if process.poll() is not None:
            raise AssertionError(f"fer-ros serve exited with {process.returncode} before it "
                                 f"listened:\n{output(process)}")
        time.sleep(0.1)
    raise AssertionError(f"fer-ros serve not ready after {START_TIMEOUT_S} s:\n"
                         f"{output(process)}")


def multipart(fields: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data form: name -> (filename, bytes)."""
    boundary = uuid.uuid4().hex
    body = bytearray()
    for name, (filename, data) in fields.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                 f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                 ).encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), f"multipart/form-data; boundary={boundary}"


def request(url: str, data: bytes | None = None, content_type: str = "",
            headers: dict | None = None, timeout: float = 60.0) -> tuple[int, bytes]:
    """(HTTP status, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def detect(url: str, data: bytes, filename: str = "photo.jpg", query: str = ""):
    """POST /api/detect; returns (status, parsed JSON)."""
    body, ctype = multipart({"file": (filename, data)})
    status, raw = request(f"{url}api/detect{query}", body, ctype)
    return status, json.loads(raw)


def write_photo(folder: Path, name: str, image: np.ndarray) -> Path:
    path = folder / name
    assert cv2.imwrite(str(path), image)
    return path
