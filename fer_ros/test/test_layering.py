"""The package layering holds and no module imports itself back (scanned with ast, so lazy
imports inside functions count as much as the ones at the top of a file).

    core      the ground floor: imports only core (and never rclpy, ROS messages or torch)
    training  core, training                    (needs torch; never imported by the runtime)
    ros       core, ros                         (the node and what it needs)
    bag       core, bag, ros                    (bag-play publishes through ros.qos)
    files     core, files                       (fer-ros detect)
    serve     core, files, ros, serve           (fer-ros serve: detect's pipeline, a live topic)
    bench     core, training, ros, bag, files, serve, bench
    tools     everything but the top-level CLI  (demo, delivery check, build-engine)
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "fer_ros"

ALLOWED = {
    "core": {"core"},
    "training": {"core", "training"},
    "ros": {"core", "ros"},
    "bag": {"core", "bag", "ros"},
    "files": {"core", "files"},
    "serve": {"core", "files", "ros", "serve"},
    "bench": {"core", "training", "ros", "bag", "files", "serve", "bench"},
    "tools": {"core", "training", "ros", "bag", "files", "serve", "bench", "tools"},
}
#: third-party modules a layer must not import (its users may not have them)
FORBIDDEN_EXTERNAL = {
    "core": {"rclpy", "fer_ros_msgs", "sensor_msgs", "std_msgs", "torch", "torchvision",
             "rosbags"},
    "ros": {"torch", "torchvision"},
    "files": {"rclpy", "torch", "torchvision"},
    "serve": {"torch", "torchvision"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def imports_of(name: str) -> list[tuple[str, int]]:
    """Every module ``name`` imports (top level or inside functions), with its line."""
    path = MODULES[name]
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                package = name.split(".")[:len(name.split(".")) - node.level + is_package]
                base = ".".join(package + ([base] if base else []))
            found.append((base, node.lineno))
            # `from fer_ros.core import paths` imports the module fer_ros.core.paths
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names
                      if f"{base}.{alias.name}" in MODULES]
    return found


def layer(name: str) -> str | None:
    """The subpackage of a fer_ros module (None for top-level modules such as cli)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


def internal_graph() -> dict[str, set[str]]:
    return {name: {target for target, _ in imports_of(name) if target in MODULES
                   and target != name}
            for name in MODULES}


def test_every_module_belongs_to_a_known_layer():
    loose = [n for n in MODULES if n.count(".") >= 2 and layer(n) not in ALLOWED]
    assert not loose, f"modules in a subpackage the layering does not know: {loose}; add the " \
                      "subpackage to ALLOWED in this test with the layers it may import"


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for name in MODULES:
        own = layer(name)
        if own is None:
            continue
        for target, line in imports_of(name):
            first = target.split(".")[0]
            if target.startswith("fer_ros.") and layer(target) is not None \
                    and layer(target) not in ALLOWED[own]:
                wrong.append(f"{MODULES[name].relative_to(PACKAGE_DIR)}:{line} ({own}) "
                             f"imports {target}")
            elif first in FORBIDDEN_EXTERNAL.get(own, ()):
                wrong.append(f"{MODULES[name].relative_to(PACKAGE_DIR)}:{line} ({own}) "
                             f"imports {first}")
    assert not wrong, ("layering broken (see the table in this file's docstring); move the "
                       "code to the layer that may use it:\n  " + "\n  ".join(wrong))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_no_import_cycles_between_modules():
    graph = internal_graph()
    for name in graph:  # a package's __init__ is no edge back from its own modules
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    cycle = find_cycle(graph)
    assert cycle is None, ("import cycle (lazy imports included): " + " -> ".join(cycle) +
                           "; move the shared part into a module both can import")


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
