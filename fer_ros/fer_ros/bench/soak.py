"""`fer-ros soak`: stream many VGA frames with real faces through the installed fer_node over DDS and
watch its resident memory and its frame accounting.

    fer-ros soak --frames 10000 --json benchmarks/soak.json

A probe (this process) publishes ``frames`` 640x480 bgr8 Images of 3 FER2013 faces each at
``rate_hz`` to a fer_node process and receives its EmotionArrays. Every ``sample_every``
frames it reads the node's RSS (psutil; the node process and any children). Reported:
- rss growth after warm-up = (last sample - sample at the end of warm-up) / that sample
  (target < 5 %: a leak of even a few KB per frame shows over 10,000 frames);
- frame accounting: frames sent, answered, and the node's own counters (/diagnostics,
  taken as differences from a baseline after warm-up). The node keeps only the newest
  frame (docs/node.md), so a frame may go unanswered only when the node counts it as
  dropped; ``frames_lost_unexplained`` = unanswered - dropped must be 0.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from fer_ros.core.cli_args import add_model_argument
from fer_ros.bench.node_bench import EMOTIONS_TOPIC, IMAGE_TOPIC, _image_msgs, node_and_probe

HELP = "stream many frames through fer_node over DDS: memory growth and lost frames (JSON)"
RSS_GROWTH_TARGET_PCT = 5.0
COUNTERS = ("frames_received", "frames_processed", "frames_dropped", "frames_lost_before_node")


def _rss_bytes(process) -> int:
    """Resident memory of the node: the process and its children (launchers re-exec)."""
    import psutil
    total = 0
    for proc in [process] + process.children(recursive=True):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _counters(probe) -> dict[str, int] | None:
    values = probe.diagnostics
    if not all(key in values for key in COUNTERS):
        return None
    return {key: int(values[key]) for key in COUNTERS}


def _settle(probe, seconds: float = 2.5) -> dict[str, int]:
    """Wait for the in-flight frames and a fresh diagnostics message; the node's counters."""
    probe.diagnostics = {}
    deadline = time.monotonic() + seconds + 10.0
    probe.spin_for(seconds)
    while (counters := _counters(probe)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError("fer_node published no diagnostics with frame counters")
        probe.spin_for(0.2)
    return counters


def _stream(probe, node, msgs, frames: int, rate_hz: float, sample_every: int,
            first_key: int) -> tuple[set[int], list[dict]]:
    """Publish ``frames`` frames at ``rate_hz``; (stamp keys sent, RSS samples)."""
    sent, samples, start = set(), [], time.monotonic()
    for i in range(frames):
        if i % sample_every == 0:
            samples.append({"frames": i, "rss_mb": round(_rss_bytes(node) / 2**20, 2),
                            "t_s": round(time.monotonic() - start, 1)})
        due = start + i / rate_hz
        while (now := time.monotonic()) < due:
            probe.executor.spin_once(timeout_sec=min(due - now, 0.01))
        msg = msgs[i % len(msgs)]
        key = first_key + i * 1000
        msg.header.stamp.sec, msg.header.stamp.nanosec = key // 10**9, key % 10**9
        sent.add(key)
        probe.pub.publish(msg)
        probe.executor.spin_once(timeout_sec=0)
    samples.append({"frames": frames, "rss_mb": round(_rss_bytes(node) / 2**20, 2),
                    "t_s": round(time.monotonic() - start, 1)})
    return sent, samples


def _growth(samples: list[dict]) -> tuple[float, float, float]:
    """(first rss, last rss, growth %) of the samples taken after the warm-up."""
    base, last = samples[0]["rss_mb"], samples[-1]["rss_mb"]
    return base, last, round(100.0 * (last - base) / base, 2)


def run_soak(frames, count: int = 10_000, rate_hz: float = 15.0, sample_every: int = 1000,
             warmup: int = 1000, start_timeout_s: float = 120.0,
             model: str | None = None) -> dict:
    """Start fer_node, stream ``count`` frames (after ``warmup`` more); JSON-ready results."""
    import psutil
    parameters = {"pipeline.classifier.bundle": str(model)} if model else None
    with node_and_probe(start_timeout_s, parameters) as (node, probe, log):
        msgs = _image_msgs(frames)
        process = psutil.Process(node.pid)
        _stream(probe, process, msgs, warmup, rate_hz, sample_every, 10**12)
        before = _settle(probe)
        probe.replies.clear()
        t0 = time.monotonic()
        sent, samples = _stream(probe, process, msgs, count, rate_hz, sample_every, 2 * 10**12)
        duration = time.monotonic() - t0
        after = _settle(probe)
        answered = len({key for _, key in probe.replies} & sent)
        return _report(count, warmup, rate_hz, duration, samples, answered,
                       {k: after[k] - before[k] for k in COUNTERS}, node, log)


def _report(count, warmup, rate_hz, duration, samples, answered, node_delta, node, log) -> dict:
    base, last, growth = _growth(samples)
    unanswered = count - answered
    unexplained = unanswered - node_delta["frames_dropped"]
    log.seek(0)
    errors = [line for line in log.read().splitlines() if "processing failed" in line]
    return {
        "benchmark": "soak", "command": " ".join(["fer-ros"] + sys.argv[1:]),
        "frames": count, "warmup_frames": warmup, "rate_hz": rate_hz,
        "duration_s": round(duration, 1), "answered_fps": round(answered / duration, 2),
        "rss_samples": samples, "rss_after_warmup_mb": base, "rss_end_mb": last,
        "rss_growth_after_warmup_pct": growth,
        "rss_growth_target_pct": RSS_GROWTH_TARGET_PCT,
        "rss_ok": growth < RSS_GROWTH_TARGET_PCT,
        "frames_answered": answered, "frames_unanswered": unanswered,
        "node_counters": node_delta,
        "frames_dropped_by_newest_frame_policy": node_delta["frames_dropped"],
        "frames_lost_unexplained": unexplained,
        "node_accounts_for_every_frame": (node_delta["frames_received"]
                                          + node_delta["frames_lost_before_node"] == count),
        "loss_ok": unexplained == 0,
        "node_processing_errors": len(errors),
        "node_pid": node.pid, "endpoints": {"image": IMAGE_TOPIC, "emotions": EMOTIONS_TOPIC},
        "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE"),
    }


def add_arguments(parser) -> None:
    parser.add_argument("--json", metavar="PATH", type=Path, default=Path("benchmarks/soak.json"),
                        help="write the results as JSON to PATH (default: benchmarks/soak.json)")
    add_model_argument(parser)
    parser.add_argument("--frames", type=int, default=10_000,
                        help="frames measured after the warm-up (default 10000)")
    parser.add_argument("--warmup", type=int, default=1000,
                        help="frames streamed first and not measured (default 1000)")
    parser.add_argument("--rate", type=float, default=15.0,
                        help="frames per second offered to the node (default 15)")
    parser.add_argument("--sample-every", type=int, default=1000,
                        help="read the node's RSS every this many frames (default 1000)")
    parser.add_argument("--input", choices=("unrelated", "stream"), default="unrelated",
                        help="unrelated: a new scene every frame (new face ids each frame: the "
                             "worst case for per-face REP-155 publishers; default); stream: a "
                             "camera clip of 3 faces moving (ids persist)")


def run(args) -> int:
    from fer_ros.bench.peer_compare import labelled_scenes, labelled_stream
    if min(args.frames, args.sample_every, args.warmup + 1) < 1 or args.rate <= 0:
        print("fer-ros soak: --frames and --sample-every must be >= 1, --warmup >= 0 and "
              "--rate > 0", file=sys.stderr)
        return 2
    try:
        import psutil  # noqa: F401
    except ImportError:
        print("fer-ros soak needs psutil (pip install psutil; rosdep key python3-psutil)",
              file=sys.stderr)
        return 2
    from fer_ros.bench.core_bench import _environment
    environment = _environment(threads=2)  # before the run: the load average at start
    if args.input == "stream":
        frames = [scene.image for scene in labelled_stream(90)]
        frames += frames[::-1]  # played forwards and back: no jump when it loops
    else:
        frames = [scene.image for scene in labelled_scenes(10)]
    result = run_soak(frames, args.frames, args.rate, args.sample_every, args.warmup,
                      model=args.model)
    result["environment"], result["input"] = environment, args.input
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    keys = ("frames", "answered_fps", "rss_after_warmup_mb", "rss_end_mb",
            "rss_growth_after_warmup_pct", "rss_ok", "frames_unanswered",
            "frames_dropped_by_newest_frame_policy", "frames_lost_unexplained", "loss_ok")
    print(json.dumps({k: result[k] for k in keys}, indent=1))
    print(f"wrote {args.json}", file=sys.stderr)
    return 0  # a measurement: the verdicts (rss_ok, loss_ok) are in the JSON
