"""`make test` (scripts/test.sh, also run by .ci/run) must fail when a test fails.

Runs scripts/test.sh on small generated test files, in a child process, exactly as `make test`
runs it on fer_ros/test, and checks the exit code pytest's result gives it.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PASSING = "def test_passes():\n    assert 1 + 1 == 2\n"
FAILING = "def test_fails():\n    assert 1 + 1 == 3, 'deliberate failure'\n"


def run_test_script(repo_root: Path, test_dir: Path, ros_env: dict) -> subprocess.CompletedProcess:
    # Drop the outer run's pytest options (colcon test passes --junit-xml via PYTEST_ADDOPTS:
    # the inner run would overwrite the outer run's report).
    env = {k: v for k, v in ros_env.items() if not k.startswith("PYTEST_")}
    env["FER_ROS_TEST_PATHS"] = str(test_dir)
    return subprocess.run(["bash", str(repo_root / "scripts" / "test.sh"), "-p", "no:cacheprovider"],
                          cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("files, expected_code, summary", [
    ({"test_ok.py": PASSING}, 0, "1 passed"),
    ({"test_ok.py": PASSING, "test_bad.py": FAILING}, 1, "1 failed, 1 passed"),
    ({"test_broken.py": "import no_such_module_here\n"}, 2, "1 error"),
    ({"helper.py": PASSING}, 5, "no tests ran"),
], ids=["pass", "one-failure", "collection-error", "no-tests"])
def test_test_script_exit_code_follows_pytest(tmp_path, repo_root, ros_env,
                                              files, expected_code, summary):
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    result = run_test_script(repo_root, tmp_path, ros_env)

    output = result.stdout + result.stderr
    assert result.returncode == expected_code, output
    assert summary in output, output


def test_make_test_runs_the_test_script(repo_root):
    # `make -n` prints the recipe without running it: test = setup, then scripts/test.sh.
    result = subprocess.run(["make", "--no-print-directory", "-n", "test"], cwd=repo_root,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines == ["scripts/setup.sh", "scripts/test.sh"], result.stdout
    ci = (repo_root / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and "\nmake test\n" in ci
