"""A web page and HTTP API for trying the model and watching a robot's camera, no ROS needed.

    fer-ros serve                                  # http://127.0.0.1:8080
    fer-ros serve --image-topic /camera/image_raw  # + live view of a ROS camera topic
    fer-ros serve --host 0.0.0.0 --port 8080       # reachable from other machines (no login!)

The page: drop photos or a short video, or allow the webcam, and see each face's emotion
with its probability bars; download the results as the JSON/CSV rows of `fer-ros detect`.
The API (POST /api/detect, GET /api/model, the live stream) is described in docs/serve.md.
Uploads stay in memory and are refused above --max-upload-mb or --max-megapixels.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time

HELP = "web page + HTTP API: try photos, video, webcam; watch a camera topic"
LOCAL_BINDS = ("127.0.0.1", "localhost", "::1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fer_ros.core.cli_args import add_json_argument
    from fer_ros.files.detect_cli import add_pipeline_arguments

    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                             "0.0.0.0 opens the page to the network, without any login)")
    parser.add_argument("--port", type=int, default=8080,
                        help="TCP port (default 8080; 0: any free port, printed at start)")
    parser.add_argument("--image-topic", default="", metavar="TOPIC",
                        help="watch this sensor_msgs/Image topic (.../compressed: "
                             "CompressedImage) live on the page; needs ROS 2")
    parser.add_argument("--max-upload-mb", type=float, default=20.0, metavar="MB",
                        help="largest accepted upload (default 20)")
    parser.add_argument("--max-megapixels", type=float, default=40.0, metavar="MP",
                        help="largest accepted image size in megapixels (default 40)")
    add_pipeline_arguments(parser)
    add_json_argument(parser, "the server's address, port and model once it listens")


def _log(message: str) -> None:
    print(f"[fer-ros serve] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    from fer_ros.serve.uploads import Limits, set_decoder_pixel_cap

    limits = Limits(max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                    max_pixels=int(args.max_megapixels * 1e6))
    set_decoder_pixel_cap(limits.max_pixels)  # before anything decodes an image

    import uvicorn

    from fer_ros.core.cli_args import report_error
    from fer_ros.core.errors import FerError
    from fer_ros.files.detect_cli import pipeline_factory
    from fer_ros.serve.app import create_app
    from fer_ros.serve.engine import Engine

    try:
        engine = Engine(pipeline_factory(args))
        live, ros = _start_live(args, pipeline_factory) if args.image_topic else (None, None)
    except FerError as exc:
        return report_error("serve", exc)
    local = args.host in LOCAL_BINDS
    app = create_app(engine, limits, live, local_only=local)
    if not local:
        _log(f"WARNING: listening on {args.host}: anyone who can reach this machine on port "
             f"{args.port} can use the page and the API (there is no login); use the default "
             "--host 127.0.0.1 to keep it to this machine")
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    _announce_when_up(server, args, started, engine)
    # uvicorn stops gracefully on SIGINT/SIGTERM, then re-raises the signal; a requested stop
    # is a normal exit (0), like fer_node's
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if live is not None:
            ros.close()
            live.close()
    return 0 if server.started else 1


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _start_live(args, pipeline_factory):
    try:
        from fer_ros.serve.ros_source import RosThread
    except ImportError as exc:
        raise SystemExit(f"fer-ros serve: error: --image-topic needs ROS 2 ({exc}); "
                         "source install/setup.bash (make setup) or drop --image-topic")
    from fer_ros.serve.live import LiveView

    # its own tracking pipeline: the camera's track ids never mix with the page's webcam
    live = LiveView(pipeline_factory(args)(True), args.image_topic)
    return live, RosThread(live, args.image_topic)


def _announce_when_up(server, args, started: float, engine) -> None:
    """Print the URL and the start-up time once uvicorn listens (tests wait for this line)."""
    from fer_ros.core.cli_args import write_json
    original = server.startup

    async def startup(sockets=None):
        await original(sockets=sockets)
        if server.started:
            host = f"[{args.host}]" if ":" in args.host else args.host
            port = server.servers[0].sockets[0].getsockname()[1]  # the real one for --port 0
            ready_s = time.perf_counter() - started
            print(f"fer-ros serve: http://{host}:{port}/ (model "
                  f"{engine.photos.model_name} {engine.photos.model_version}; ready in "
                  f"{ready_s:.2f} s)", flush=True)
            write_json(args.json, {"url": f"http://{host}:{port}/", "port": port,
                                   "model": engine.photos.model_name,
                                   "model_version": engine.photos.model_version,
                                   "ready_s": round(ready_s, 3)})
    server.startup = startup
