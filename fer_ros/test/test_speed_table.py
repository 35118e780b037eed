"""The speed tables of the README and docs/results.md are what scripts/speed_table.py
generates from benchmarks/latest.json: no figure typed by hand, none stale."""
from __future__ import annotations

import subprocess
import sys


def test_speed_tables_match_the_benchmark_json(repo_root):
    script = repo_root / "scripts" / "speed_table.py"
    done = subprocess.run([sys.executable, str(script), str(repo_root / "benchmarks" /
                                                             "latest.json"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{done.stderr.strip()} (after a new benchmark run)"
    for doc in ("README.md", "docs/results.md"):
        text = (repo_root / doc).read_text()
        assert "<!-- speed:begin -->\nFrom `benchmarks/latest.json`" in text, \
            f"{doc} has no generated speed table between the speed markers"
