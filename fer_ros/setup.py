"""ament_python package fer_ros: the node, the ROS-free core, bag tools and training code.

Data files are globbed so launch files, configs and model bundles added later are installed
without editing this file (re-run `colcon build` after adding one).
"""
from glob import glob
import os

from setuptools import find_packages, setup

PACKAGE = "fer_ros"
HERE = os.path.dirname(os.path.abspath(__file__))


# Built on one machine for one GPU: a TensorRT engine built in the source tree (build-engine
# writes it beside the network) must never be installed with the bundle.
NOT_INSTALLED = (".engine", ".engine.json", ".tmp")


def share_files(pattern: str, dest: str) -> tuple[str, list[str]]:
    """(share/fer_ros/<dest>, matching files) with paths relative to this directory."""
    files = sorted(p for p in glob(pattern, root_dir=HERE)
                   if os.path.isfile(os.path.join(HERE, p)) and not p.endswith(NOT_INSTALLED))
    return (os.path.join("share", PACKAGE, dest), files)


def model_folders() -> list[tuple[str, list[str]]]:
    """Every folder of models/ (the bundles, the face detector) and models/DEFAULT."""
    folders = sorted(d for d in glob("models/*", root_dir=HERE)
                     if os.path.isdir(os.path.join(HERE, d)))
    return [share_files(f"{d}/*", d) for d in folders] + [share_files("models/DEFAULT", "models")]


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    package_data={"fer_ros.serve": ["static/*"]},  # the fer-ros serve page
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        share_files("launch/*.py", "launch"),
        share_files("config/*", "config"),
        share_files("config/training/*", "config/training"),
    ] + model_folders(),
    # Runtime Python deps come from package.xml (rosdep) or requirements.txt (pip), not here:
    # pip-resolving numpy/opencv inside a ROS install would fight the system packages.
    install_requires=["setuptools"],
    extras_require={"test": ["pytest"]},  # not tests_require: colcon would run unittest instead
    zip_safe=True,
    maintainer="fer_ros maintainers",
    maintainer_email="fer_ros@example.com",
    description="Facial emotion recognition for ROS 2 robots",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "fer_node = fer_ros.ros.node:main",
            "fer-ros = fer_ros.cli:main",
        ],
    },
)
