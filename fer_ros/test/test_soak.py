"""`fer-ros soak` runs end to end on a few frames: the installed fer_node over real DDS, RSS
samples of the node process, and frame accounting that matches the node's own counters.
Not a timed or memory-goal test: the goals are read from benchmarks/soak.json."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from node_helpers import require_runtime

pytestmark = [pytest.mark.ros, pytest.mark.shared_data, pytest.mark.slow]


@pytest.mark.parametrize("source", ["unrelated", "stream"])
def test_soak_smoke(tmp_path, ros_env, source):
    require_runtime()
    pytest.importorskip("psutil", reason="psutil is not installed (rosdep python3-psutil)")
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, "-m", "fer_ros", "soak", "--frames", "20",
                           "--warmup", "5", "--sample-every", "10", "--rate", "10",
                           "--input", source, "--json", str(out)], env=ros_env, text=True, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["input"] == source
    assert [s["frames"] for s in result["rss_samples"]] == [0, 10, 20]
    assert all(s["rss_mb"] > 50 for s in result["rss_samples"]), result["rss_samples"]
    assert result["frames_answered"] + result["frames_unanswered"] == 20
    assert result["frames_answered"] > 0
    assert result["frames_lost_unexplained"] == 0, \
        f"frames unanswered but not counted as dropped by the node: {result}"
    assert result["node_counters"]["frames_processed"] == result["frames_answered"], result
    assert result["node_processing_errors"] == 0
    assert json.loads(done.stdout)["frames"] == 20
