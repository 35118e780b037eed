"""The Starlette app: the page, its static files, and the HTTP API (docs/serve.md).

    POST /api/detect       multipart field ``file`` -> {"faces": [...EmotionArray fields], ...}
    GET  /api/model        model name, version, labels, measured accuracy, limits
    POST /api/csv          {"rows": [...]} (rows from /api/detect) -> `fer-ros detect --csv` text
    GET  /api/live/state   live view: faces, per-track timeline, node diagnostics (--image-topic)
    GET  /api/live/stream.mjpg   live view: annotated camera frames as MJPEG
"""
from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from fer_ros.core.errors import InputError
from fer_ros.serve.results import rows_to_csv
from fer_ros.serve.uploads import Limits, UploadError, decode_image, read_file_field

STATIC = Path(__file__).resolve().parent / "static"
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1"]
MJPEG_BOUNDARY = "fer_ros_frame"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(engine, limits: Limits, live=None, local_only: bool = True) -> Starlette:
    """``local_only``: answer only requests addressed to localhost (guards a localhost-bound
    server against DNS rebinding from a web page in the user's browser)."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def model(request: Request) -> Response:
        info = engine.model_info()
        info.update(max_upload_bytes=limits.max_upload_bytes, max_pixels=limits.max_pixels,
                    max_side=limits.max_side, live_topic=live.topic if live else "")
        return JSONResponse(info)

    async def detect(request: Request) -> Response:
        try:
            name, data = await read_file_field(request.headers.get("content-type", ""),
                                               request.stream(), limits.max_upload_bytes)
            query = request.query_params
            image = decode_image(data, name, limits)
            document = await run_in_threadpool(
                engine.detect, image, query.get("file") or name, _int(query.get("frame")),
                query.get("stream", ""), query.get("annotated", "0") == "1")
        except UploadError as exc:
            return _error(exc.status, str(exc))
        except InputError as exc:  # e.g. an image smaller than the core accepts
            return _error(422, f"{name}: {exc}")
        return JSONResponse(document)

    async def csv_rows(request: Request) -> Response:
        body = await request.body()
        if len(body) > limits.max_upload_bytes:
            return _error(413, "too many rows in one request")
        try:
            rows = json.loads(body)["rows"]
            text = rows_to_csv(rows, engine.photos.labels)
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, f"send JSON {{\"rows\": [...]}} with rows from /api/detect "
                               f"({type(exc).__name__}: {exc})")
        return Response(text, media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="faces.csv"'})

    async def live_state(request: Request) -> Response:
        if live is None:
            return _error(404, "no live view: start the server with --image-topic TOPIC")
        return JSONResponse(live.state())

    async def live_stream(request: Request) -> Response:
        if live is None:
            return _error(404, "no live view: start the server with --image-topic TOPIC")
        return StreamingResponse(_mjpeg(live), media_type=
                                 f"multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}")

    routes = [Route("/", index), Route("/api/model", model),
              Route("/api/detect", detect, methods=["POST"]),
              Route("/api/csv", csv_rows, methods=["POST"]),
              Route("/api/live/state", live_state),
              Route("/api/live/stream.mjpg", live_stream),
              Mount("/static", StaticFiles(directory=STATIC), name="static")]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=LOCAL_HOSTS)] \
        if local_only else []
    return Starlette(routes=routes, middleware=middleware)


async def _mjpeg(live):
    """Each new annotated frame as one part; waits in a worker thread, never on the loop."""
    seq = 0
    while True:
        seq, jpeg = await run_in_threadpool(live.wait_frame, seq, 5.0)
        if jpeg:
            yield (f"--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                   f"Content-Length: {len(jpeg)}\r\n\r\n").encode() + jpeg + b"\r\n"


def _int(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        return 0
