"""launch/fer.launch.py names only declared parameters (read statically, without launch).

The launch file itself runs through the real launch system in launch_tests/.
"""
from __future__ import annotations

import ast
from pathlib import Path

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
