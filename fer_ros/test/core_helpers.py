"""Test-only model bundles: tiny, randomly initialised networks exported to ONNX.

For interface, shape and error tests only (any number of labels, any input size);
they say nothing about accuracy. Accuracy tests use the trained default bundle.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path


def tiny_network(channels: int, num_classes: int, seed: int = 0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(channels, 8, 3, stride=2), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes)).eval()


def make_test_bundle(out_dir: Path, labels, size: int = 32, channels: int = 1,
                     softmax: bool = True, seed: int = 0) -> Path:
    """Write model.onnx + model.json (format 1) for a random tiny network; returns out_dir."""
    import torch
    from torch import nn
    from fer_ros.training.export import export_onnx
    from fer_ros.core.preprocess import InputSpec

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = InputSpec(size=size, channels=channels, mean=(0.5,) * channels,
                     std=(0.5,) * channels, crop_margin=0.15)
    model = tiny_network(channels, len(labels), seed)
    if not softmax:
        # export_onnx appends a softmax; a log() after it gives logits-like outputs
        # (log-probabilities), so softmax_applied=false must re-normalise them.
        model = nn.Sequential(model, nn.LogSoftmax(dim=1)).eval()
    onnx_path = out_dir / "model.onnx"
    export_onnx(model, spec, onnx_path)
    if not softmax:
        _strip_final_softmax(onnx_path)
    meta = {
        "format_version": 1, "name": "test_tiny", "version": "0.0.1", "network": "model.onnx",
        "network_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "labels": list(labels),
        "input": {"name": "input", **spec.to_dict(), "layout": "NCHW", "dtype": "float32"},
        "output": {"name": "probabilities", "softmax_applied": softmax},
        "arch": "tiny-random", "training": {"dataset": "none (random weights, tests only)"},
    }
    (out_dir / "model.json").write_text(json.dumps(meta, indent=2))
    return out_dir


def _strip_final_softmax(onnx_path: Path) -> None:
    """Drop the Softmax node export_onnx adds, so the graph outputs log-probabilities."""
    import onnx

    model = onnx.load(str(onnx_path))
    graph = model.graph
    last = graph.node[-1]
    assert last.op_type == "Softmax", last.op_type
    source = last.input[0]
    graph.node.remove(last)
    for node in graph.node:
        for i, name in enumerate(node.output):
            if name == source:
                node.output[i] = graph.output[0].name
    onnx.save(model, str(onnx_path))


def rewrite_metadata(bundle_dir: Path, **changes) -> None:
    """Edit model.json in place (for error tests)."""
    path = Path(bundle_dir) / "model.json"
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))
