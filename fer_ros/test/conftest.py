"""Fixtures and process isolation shared by the whole fer_ros test suite.

Importing this file (pytest does, before any test) isolates ROS 2 traffic for the test run:
a random ROS_DOMAIN_ID and localhost-only discovery, set in os.environ so that rclpy in this
process and every child process started by a test use them.

Fixtures:
    repo_root    the repository root (the folder holding fer_ros/ and fer_ros_msgs/)
    shared_dir   the shared data folder (fer_ros.core.paths.shared_dir: $FER_ROS_SHARED first)
    ros_env      environment (dict) for child processes: isolated domain, unbuffered output
    unique_topic a topic name no other test (or test run on this machine) uses
    rclpy_context an initialised rclpy Context of its own, shut down after the test
"""
from __future__ import annotations

import logging
import os
import random
import uuid
from pathlib import Path

import pytest

from fer_ros.core.paths import shared_dir as find_shared_dir

# The launch_testing plugin installs a Logger class with propagate = False: loggers created
# after it (fer_ros.*) would then never reach pytest's caplog. Plain loggers again.
logging.setLoggerClass(logging.Logger)

REPO_ROOT = Path(__file__).resolve().parents[2]

MARKERS = {
    "ros": "needs rclpy and the colcon-built messages (source install/setup.bash)",
    "shared_data": "reads datasets or models from the shared folder (FER_ROS_SHARED)",
    "slow": "takes more than a few seconds",
}


def _isolate_ros_discovery() -> None:
    # Domain ids 1..101 keep Fast DDS ports below Linux's ephemeral range; 0 is everyone's default.
    os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 101))
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    # Either of these would widen or contradict the localhost-only range.
    os.environ.pop("ROS_STATIC_PEERS", None)
    os.environ.pop("ROS_LOCALHOST_ONLY", None)


_isolate_ros_discovery()


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def pytest_report_header(config: pytest.Config) -> str:
    return (f"fer_ros: ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} "
            f"ROS_AUTOMATIC_DISCOVERY_RANGE={os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE']} "
            f"shared={find_shared_dir()}")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder. Missing: skip locally, fail under CI (CI must run these tests)."""
    path = find_shared_dir()
    if not path.is_dir():
        message = (f"shared data folder not found at {path}: set FER_ROS_SHARED=/path/to/shared "
                   "or put the shared folder beside the repository")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def default_bundle():
    """The packaged default model bundle (the one fer_ros/models/DEFAULT names). It ships with the
    repository, so a missing or invalid one is a failure, not a reason to skip."""
    from fer_ros.core.bundle import load_bundle
    from fer_ros.core.errors import ModelError
    try:
        return load_bundle(None)
    except ModelError as exc:
        pytest.fail(f"the default bundle cannot be loaded: {exc}")


@pytest.fixture()
def ros_env() -> dict[str, str]:
    """Environment for a child process that talks ROS to this one (same isolated domain)."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture()
def unique_topic() -> str:
    # A random suffix keeps two test runs apart even if they drew the same domain id.
    return f"/fer_ros_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def rclpy_context():
    """A fresh rclpy Context (use it as `context=` for nodes and executors)."""
    rclpy = import_ros("rclpy")
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


def import_ros(module_name: str):
    """Import a ROS module, failing with the fix when the colcon environment is not sourced."""
    import importlib

    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        pytest.fail(f"cannot import {module_name} ({exc}); run the tests with `make test`, or "
                    "`source .venv/bin/activate; set +u; source install/setup.bash; set -u` "
                    "after `make setup`")
