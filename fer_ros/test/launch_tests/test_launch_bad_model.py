"""A wrong `model:=` path: the launch ends on its own (no hang) and the node says, in one
line without a traceback, which path is wrong and what to pass instead."""
from __future__ import annotations

import asyncio
import subprocess

import pytest

from launch_helpers import require_tools

require_tools()

import launch_pytest  # noqa: E402

from launch_helpers import Recorder, fer_launch, no_traceback  # noqa: E402
from node_helpers import require_runtime  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.slow]

RECORDER = Recorder()
BAD_MODEL = "/nonexistent/fer_bundle"
END_TIMEOUT_S = 90.0


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "error" in line.lower()]


@launch_pytest.fixture
def bad_model_launch():
    require_runtime()
    return fer_launch(RECORDER, model=BAD_MODEL)


@pytest.mark.launch(fixture=bad_model_launch)
async def test_bad_model_ends_the_launch_with_one_line(launch_service):
    # The launch service finishes by itself once its only process has ended.
    await asyncio.wait_for(asyncio.shield(launch_service.task), END_TIMEOUT_S)
    output = RECORDER.output()
    assert RECORDER.exits == {"fer_node": 1}, f"exit codes {RECORDER.exits}:\n{output}"
    errors = _error_lines(output)
    assert len(errors) == 1 and BAD_MODEL in errors[0], \
        f"expected one error line naming {BAD_MODEL}, got {errors}"
    assert "pass the directory that holds model.json" in errors[0], errors[0]
    no_traceback(output, "fer_node")


def test_ros2_launch_command_ends_with_the_error():
    """The same through the `ros2 launch` command a user types."""
    require_runtime()
    try:
        done = subprocess.run(["ros2", "launch", "fer_ros", "fer.launch.py",
                               f"model:={BAD_MODEL}"], capture_output=True, text=True,
                              timeout=END_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"`ros2 launch ... model:={BAD_MODEL}` still runs after "
                             f"{END_TIMEOUT_S:g} s: {exc.stdout}") from None
    output = done.stdout + done.stderr
    errors = [line for line in _error_lines(output) if "[fer_node]" in line]
    assert len(errors) == 1 and BAD_MODEL in errors[0], output
    assert "exit code 1" in output, f"launch must report the node's exit code 1:\n{output}"
    no_traceback(output, "ros2 launch")
