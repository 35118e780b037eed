"""A shipped bundle back into a trainable checkpoint (``fer-ros recover``, recover_cli.py).

Checkpoints live in the git-ignored ``runs/`` folder and are lost with the machine that trained
them; the bundle's ONNX network is what survives. Its initializers keep the PyTorch names, but
the exporter folded every BatchNorm into the convolution before it (weight W' = W * g / s,
bias b'). This module rebuilds the training model from the bundle's own training config and
gives each BatchNorm statistics that make it reproduce the folded network exactly in eval mode,
and nearly so in train mode:

    conv weight = W';  BN running mean m, running var v, weight sqrt(v + eps), bias m + b'

where m and v are the per-channel mean and variance of W'x over real training faces. In eval
mode BN(W'x) = (W'x - m) + m + b' = W'x + b' (the ONNX function, to float rounding); in train
mode the batch statistics are close to m and v, so a fine-tune starts where the bundle ended
instead of from a network whose BatchNorms would rescale every layer.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fer_ros.core.bundle import load_bundle
from fer_ros.training.checkpoint import save_checkpoint
from fer_ros.training.config import TrainConfig



def onnx_tensors(onnx_path: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(str(onnx_path)).graph
    return {t.name: numpy_helper.to_array(t) for t in graph.initializer}


def _folded_pairs(model: nn.Module) -> list[tuple[str, nn.Conv2d, nn.BatchNorm2d]]:
    """(name, conv, the BatchNorm after it) for every conv of a torchvision ResNet trunk."""
    modules = dict(model.named_modules())
    pairs = []
    for name, module in modules.items():
        if not isinstance(module, nn.Conv2d):
            continue
        if name.endswith("downsample.0"):
            bn_name = name[:-1] + "1"
        else:
            bn_name = name.replace("conv", "bn")
        bn = modules.get(bn_name)
        if not isinstance(bn, nn.BatchNorm2d):
            raise ValueError(f"conv {name} has no BatchNorm {bn_name}: only ResNet trunks are "
                             "recovered")
        pairs.append((name, module, bn))
    return pairs


def load_folded_weights(model: nn.Module, tensors: dict[str, np.ndarray]) -> None:
    """Folded conv weights/biases and the head into ``model``; BN set to identity + bias."""
    state = model.state_dict()
    for name, conv, bn in _folded_pairs(model):
        weight = tensors.get(f"model.{name}.weight")
        bias = tensors.get(f"model.{name}.weight_bias")
        if weight is None or bias is None or tuple(weight.shape) != tuple(conv.weight.shape):
            raise ValueError(f"the network has no folded conv {name} of shape "
                             f"{tuple(conv.weight.shape)}: was it exported by fer-ros export "
                             "from the same architecture?")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(np.array(weight)))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)  # sqrt(var + eps) = 1: BN adds only its bias
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(np.array(bias)))
    for key in [k for k in state if k.startswith("head.")]:
        source = tensors.get(f"model.{key}")
        if source is None:
            raise ValueError(f"the network has no head tensor model.{key}")
        with torch.no_grad():
            state[key].copy_(torch.from_numpy(np.array(source)))


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, faces: torch.Tensor, batch: int = 256) -> None:
    """Give every BN the statistics of its input over ``faces`` without changing eval output."""
    model.eval()
    pairs = _folded_pairs(model)
    sums = {name: [0.0, 0.0, 0] for name, _, _ in pairs}
    hooks = []
    for name, conv, _ in pairs:
        def record(_module, _inputs, out, key=name):
            z = out.double().transpose(0, 1).flatten(1)  # C x (N*H*W)
            acc = sums[key]
            acc[0] = acc[0] + z.sum(1)
            acc[1] = acc[1] + (z * z).sum(1)
            acc[2] += z.shape[1]
        hooks.append(conv.register_forward_hook(record))
    for start in range(0, len(faces), batch):
        model(faces[start:start + batch])
    for hook in hooks:
        hook.remove()
    for name, _, bn in pairs:
        total, squares, count = sums[name]
        mean = total / count
        var = (squares / count - mean * mean).clamp_min(1e-6)
        bias = bn.bias.double().clone()
        bn.running_mean.copy_(mean.float())
        bn.running_var.copy_(var.float())
        bn.weight.copy_(torch.sqrt(var + bn.eps).float())
        bn.bias.copy_((mean + bias).float())


def recover(bundle_dir: str | Path, out: str | Path, data: str | None = None,
            labels_csv: str | None = None, faces: int = 4096) -> dict:
    from fer_ros.training.datasets import load_splits
    from fer_ros.training.evaluate import load_predictor
    from fer_ros.training.models import create_model
    from fer_ros.training.train import input_spec
    bundle = load_bundle(bundle_dir).with_precision("fp32")
    meta = json.loads((Path(bundle_dir) / "model.json").read_text())
    values = dict(meta.get("training", {}).get("config") or {})
    if not values:
        raise ValueError(f"{bundle_dir}/model.json has no training.config: the bundle was not "
                         "made by fer-ros export")
    values.update({k: v for k, v in (("data", data), ("labels", labels_csv)) if v})
    cfg = TrainConfig.from_dict(values)  # the config the checkpoint records
    splits = load_splits(TrainConfig.from_dict({**values, "max_train_samples": faces,
                                                "max_val_samples": 256}), input_spec(cfg))
    if tuple(splits.labels) != tuple(bundle.labels):
        raise ValueError(f"the dataset's classes {splits.labels} are not the bundle's "
                         f"{bundle.labels}")
    model = create_model(cfg.arch, len(bundle.labels), cfg.channels, cfg.stem, cfg.head,
                         cfg.dropout)
    tensors = onnx_tensors(bundle.network_path)
    load_folded_weights(model, tensors)
    folded = load_predictor(bundle.path).run(splits.x_val.numpy())
    calibrate_batchnorm(model, splits.x_train)
    with torch.no_grad():
        mine = torch.softmax(model.eval()(splits.x_val), 1).numpy()
    error = float(np.abs(mine - folded).max())
    if error > 1e-3:
        raise ValueError(f"recovered network differs from {bundle.network_path} by {error:.2g} "
                         "in a probability: the export does not match this architecture")
    state = {"model": model.state_dict(), "config": cfg.to_dict(),
             "labels": list(bundle.labels), "input_spec": input_spec(cfg).to_dict(),
             "epoch": -1, "history": [], "recovered_from": str(bundle.network_path)}
    save_checkpoint(out, state)
    return {"checkpoint": str(out), "bundle": str(bundle_dir),
            "max_probability_difference": error, "calibration_faces": len(splits.x_train)}
