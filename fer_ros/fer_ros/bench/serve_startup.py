"""Start-up time of `fer-ros serve`: process launch -> first answered GET /api/model.

    python -m fer_ros.bench.serve_startup --runs 5 --json out/serve_startup.json

Each run starts a fresh process (imports, model load, ONNX Runtime session, socket), polls
the port until /api/model answers, then stops it with SIGINT. The goal is < 3 s.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command(port: int) -> list[str]:
    exe = shutil.which("fer-ros")  # the installed entry point, as a user starts it
    base = [exe] if exe else [sys.executable, "-m", "fer_ros"]
    return [*base, "serve", "--port", str(port)]


def one_start(timeout_s: float = 60.0) -> float:
    """Seconds from Popen to the first 200 from /api/model."""
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(_command(port), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < timeout_s:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/model", timeout=2):
                    return time.perf_counter() - started
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"fer-ros serve exited with {process.returncode}")
                time.sleep(0.02)
        raise RuntimeError(f"fer-ros serve did not answer within {timeout_s} s")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def measure(runs: int) -> dict:
    times = [one_start() for _ in range(runs)]
    return {"serve_startup_s_median": round(statistics.median(times), 3),
            "serve_startup_s_max": round(max(times), 3),
            "serve_startup_s": [round(t, 3) for t in times], "runs": runs,
            "goal_s": 3.0, "command": " ".join(_command(0)[:-2]),
            "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
                        "python": platform.python_version()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = measure(args.runs)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0 if result["serve_startup_s_max"] < result["goal_s"] else 1


if __name__ == "__main__":
    sys.exit(main())
