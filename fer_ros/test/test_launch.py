"""launch/fer.launch.py: consistent with the node's parameters; builds when launch_ros exists.

``launch`` / ``launch_ros`` are not installable from PyPI (robots have them from their ROS
install), so the description test skips here; the command line the launch file produces is
exercised by test_node_processes.py, which starts the installed entry point the same way.
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from fer_ros.ros.params import SPECS

LAUNCH_FILE = Path(__file__).resolve().parents[1] / "launch" / "fer.launch.py"


def _literal(name: str):
    """A module-level constant of the launch file, read without importing launch."""
    tree = ast.parse(LAUNCH_FILE.read_text(), filename=str(LAUNCH_FILE))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
    raise AssertionError(f"{name} not found in {LAUNCH_FILE}")


def test_launch_overrides_name_declared_parameters():
    overrides = ast.literal_eval(_literal("OVERRIDES"))
    unknown = {arg: p for arg, p in overrides.items() if p not in SPECS}
    assert not unknown, f"launch arguments override undeclared parameters: {unknown}"
    listed = _literal("ARGUMENTS")  # [literal arguments] + [one per OVERRIDES entry]
    listed = listed.left if isinstance(listed, ast.BinOp) else listed
    arguments = [elt.elts[0].value for elt in listed.elts] + list(overrides)
    for required in ("image_topic", "namespace", "model", "backend", "params_file",
                     "annotate"):
        assert required in arguments, f"launch argument {required} missing"
    assert set(overrides) <= set(arguments)


def test_launch_description_builds():
    if importlib.util.find_spec("launch_ros") is None:
        pytest.skip("launch_ros is not installed (not on PyPI; comes with a ROS 2 install); "
                    "the equivalent command line is tested in test_node_processes.py")
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument
    spec = importlib.util.spec_from_file_location("fer_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert isinstance(description, LaunchDescription)
    declared = {e.name for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    assert declared == {name for name, _, _ in module.ARGUMENTS}
    # descriptions come from the parameter table: every choice of the parameter is named
    texts = {name: text for name, _, text in module.ARGUMENTS}
    for argument, parameter in module.OVERRIDES.items():
        for choice in SPECS[parameter].choices or ():
            assert choice in texts[argument], f"launch argument {argument}: {choice} missing"
