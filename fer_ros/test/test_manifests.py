"""Both package.xml files are valid format-3 manifests that colcon, rosdep and the ament index
understand, and every third-party module the code imports is declared with its rosdep key.

A manifest that does not parse makes colcon build fer_ros as a plain Python package: then
`ros2 launch fer_ros ...`, `ros2 run`, FindPackageShare and rosdep cannot see it.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = {"fer_ros": REPO / "fer_ros", "fer_ros_msgs": REPO / "fer_ros_msgs"}
BUILD_TYPES = {"fer_ros": "ros.ament_python", "fer_ros_msgs": "ros.ament_cmake"}

# Python module -> rosdep key (rosdep/base.yaml, rosdep/python.yaml); ROS packages are their
# own key and are not listed here.
ROSDEP_KEYS = {
    "numpy": "python3-numpy",
    "cv2": "python3-opencv",
    "yaml": "python3-yaml",
    "tqdm": "python3-tqdm",
    "onnxruntime": "python3-onnxruntime-pip",
    "rosbags": "python3-rosbags-pip",
    "psutil": "python3-psutil",
    "pytest": "python3-pytest",
    "hypothesis": "python3-hypothesis",
    "catkin_pkg": "python3-catkin-pkg",
    # fer-ros serve (web page); Debian packages python3-starlette, python3-uvicorn,
    # python3-multipart; selenium drives the browser tests
    "starlette": "python3-starlette",
    "uvicorn": "python3-uvicorn",
    "python_multipart": "python3-multipart",
    "multipart": "python3-multipart",
    "selenium": "python3-selenium",
    "setuptools": "python3-setuptools",
}
# Needed only to train, export or quantize a model (fer_ros.training and its tests), installed
# by requirements-train.txt on a training machine; a robot never imports them, so they are not
# in package.xml (torch alone is 5 GB).
TRAINING_ONLY = {"torch", "torchvision", "onnx", "onnxscript", "matplotlib"}
# Imported only behind a guard, by optional parts that say what is missing when absent:
# TensorRT + CUDA come with JetPack / NVIDIA's TensorRT install (no rosdep key on x86), and
# `fer`/`tensorflow` live in the separate .venv-peer of the peer comparison benchmark.
OPTIONAL = {"tensorrt", "cuda", "fer", "tensorflow"}


def _manifest(name: str):
    catkin_pkg = pytest.importorskip("catkin_pkg.package", reason="catkin_pkg is not installed")
    path = PACKAGE_DIRS[name] / "package.xml"
    try:
        return catkin_pkg.parse_package(str(path))
    except Exception as exc:  # InvalidPackage, or an XML parse error with its line
        pytest.fail(f"{path} does not parse with catkin_pkg: {exc}")


@pytest.mark.parametrize("name", sorted(PACKAGE_DIRS))
def test_manifest_parses_and_validates_as_format_3(name):
    package = _manifest(name)
    assert package.package_format == 3, f"{name}/package.xml is format {package.package_format}"
    assert package.name == name
    package.validate()  # raises InvalidPackage naming the problem
    build_type = package.get_build_type()
    expected = BUILD_TYPES[name].split(".", 1)[1]
    assert build_type == expected, f"{name}: build_type {build_type}, expected {expected}"


def test_colcon_identifies_ros_package_types():
    colcon = shutil.which("colcon")
    if colcon is None:
        message = "colcon is not on PATH (make setup installs colcon-common-extensions)"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(message)
    done = subprocess.run([colcon, "list", "--base-paths", str(REPO)], cwd=REPO, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = {}
    for line in done.stdout.splitlines():
        name, _path, kind = line.split("\t")
        found[name] = kind.strip("()")
    for name, kind in BUILD_TYPES.items():
        assert found.get(name) == kind, (
            f"colcon identifies {name} as {found.get(name)}, expected {kind}: a package.xml "
            "that does not parse makes colcon fall back to a plain (python) package, which "
            "the ament index, ros2 launch and ros2 run never see")


def _guarded(tree) -> set[int]:
    """ids of import nodes inside ``try: ... except ImportError`` (optional features that
    explain what is missing, e.g. the torch backend): not required dependencies."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError",
                                                              "ModuleNotFoundError")
                for h in node.handlers):
            guarded |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return guarded


def _imports(files) -> dict[str, set[str]]:
    """Top-level absolute imports (unguarded) -> files importing them."""
    found: dict[str, set[str]] = {}
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        guarded = _guarded(tree)
        for node in ast.walk(tree):
            names = []
            if id(node) in guarded:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(
                    str(path.relative_to(REPO)))
    return found


def _third_party(imports: dict, local: set[str]) -> dict:
    return {m: f for m, f in imports.items()
            if m not in sys.stdlib_module_names and m not in local and m != "fer_ros"}


def _keys(package, *kinds: str) -> set[str]:
    return {dep.name for kind in kinds for dep in getattr(package, kind)}


def _undeclared(third_party: dict, declared: set[str]) -> list[str]:
    missing = []
    for module, files in sorted(third_party.items()):
        if module in TRAINING_ONLY | OPTIONAL:
            continue
        key = ROSDEP_KEYS.get(module, module)  # a ROS package is its own key
        if key not in declared:
            missing.append(f"{module} (key {key}) imported by {sorted(files)[:3]}")
    return missing


def test_runtime_imports_are_exec_depends():
    package = _manifest("fer_ros")
    source = REPO / "fer_ros" / "fer_ros"
    files = [p for p in source.rglob("*.py") if "training" not in p.relative_to(source).parts]
    files += list((REPO / "fer_ros" / "launch").glob("*.py"))
    third_party = _third_party(_imports(files), local=set())
    missing = _undeclared(third_party, _keys(package, "exec_depends", "build_export_depends"))
    assert not missing, f"add <exec_depend> to fer_ros/package.xml for: {missing}"
    leaked = sorted(set(third_party) & TRAINING_ONLY)
    assert not leaked, f"the runtime imports training-only modules {leaked}: " \
        f"{ {m: sorted(third_party[m]) for m in leaked} }"


def test_test_imports_are_declared():
    package = _manifest("fer_ros")
    test_dir = REPO / "fer_ros" / "test"
    files = list(test_dir.rglob("*.py"))
    local = {p.stem for p in files}  # helper modules beside the tests (faces, node_helpers)
    third_party = _third_party(_imports(files), local)
    declared = _keys(package, "exec_depends", "test_depends")
    missing = _undeclared(third_party, declared)
    assert not missing, f"add <test_depend> to fer_ros/package.xml for: {missing}"


def test_training_only_modules_are_in_requirements_train():
    pinned = {line.split("==")[0].strip().lower()
              for line in (REPO / "requirements-train.txt").read_text().splitlines()
              if "==" in line and not line.startswith("#")}
    imported = _imports((REPO / "fer_ros").rglob("*.py"))
    for module in sorted(TRAINING_ONLY & set(imported)):
        assert module in pinned, f"{module} is imported (training) but not pinned in " \
            "requirements-train.txt"
