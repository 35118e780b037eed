"""torchvision ResNets adapted for face expressions: stems, heads, local pretrained weights.

``create_model(cfg, num_classes)`` is the one entry point; architectures come from
a small registry with a clear error for unknown names. Pretrained weights are
read from a local file only (never downloaded).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision import models as tvm

ARCHITECTURES = {
    "resnet18": tvm.resnet18,
    "resnet34": tvm.resnet34,
    "resnet50": tvm.resnet50,
    "resnet101": tvm.resnet101,
    "resnet152": tvm.resnet152,
}
STAGES = ("layer1", "layer2", "layer3", "layer4")


class AttentionHead(nn.Module):
    """TransFER-style self-attention over the last feature map.

    ``Attention(Q, I) = SoftMax(Flatten(tanh(Q))) * I``: a 1x1 convolution gives one
    query score per spatial position, tanh then softmax over positions weights the
    feature vectors, and their weighted sum feeds a dropout + linear classifier.
    """

    def __init__(self, channels: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, 1, kernel_size=1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(torch.tanh(self.query(features)).flatten(1), dim=1)
        pooled = torch.einsum("bp,bcp->bc", weights, features.flatten(2))
        return self.fc(self.dropout(pooled))


class FerResNet(nn.Module):
    """A torchvision ResNet trunk with a replaceable head."""

    def __init__(self, trunk: nn.Module, head: nn.Module, pooled_head: bool) -> None:
        super().__init__()
        trunk.fc = nn.Identity()
        self.trunk = trunk
        self.head = head
        self.pooled_head = pooled_head

    def train(self, mode: bool = True) -> "FerResNet":
        """Frozen BatchNorm layers stay in eval mode: a frozen stage keeps its pretrained
        statistics too (as Keras does for non-trainable layers), not only its weights."""
        super().train(mode)
        if mode:
            for module in self.trunk.modules():
                if isinstance(module, nn.BatchNorm2d) and not any(
                        p.requires_grad for p in module.parameters()):
                    module.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        t = self.trunk
        x = t.maxpool(t.relu(t.bn1(t.conv1(x))))
        return t.layer4(t.layer3(t.layer2(t.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        if self.pooled_head:
            f = torch.flatten(self.trunk.avgpool(f), 1)
        return self.head(f)


def _make_head(kind: str, channels: int, num_classes: int, dropout: float) -> nn.Module:
    if kind == "linear":
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(channels, num_classes))
    if kind == "mlp":  # the "improved ResNet18" dense top
        return nn.Sequential(nn.Linear(channels, 512), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
                             nn.Dropout(dropout or 0.5), nn.Linear(512, num_classes))
    if kind == "attention":
        return AttentionHead(channels, num_classes, dropout or 0.5)
    raise ValueError(f"Invalid head {kind!r}. Only linear, mlp and attention are supported.")


def _adapt_stem(trunk: nn.Module, channels: int, stem: str) -> None:
    if stem == "small":  # 3x3 stride 1, no max-pool: keeps detail of 48-64 px faces
        trunk.conv1 = nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        trunk.maxpool = nn.Identity()
    elif channels != 3:
        trunk.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)


def create_model(arch: str, num_classes: int, channels: int = 1, stem: str = "standard",
                 head: str = "linear", dropout: float = 0.0) -> FerResNet:
    if arch not in ARCHITECTURES:
        raise ValueError(f"Invalid arch {arch!r}. Only {', '.join(ARCHITECTURES)} are supported.")
    trunk = ARCHITECTURES[arch](weights=None)
    width = trunk.fc.in_features
    _adapt_stem(trunk, channels, stem)
    return FerResNet(trunk, _make_head(head, width, num_classes, dropout),
                     pooled_head=head != "attention")


def load_pretrained(model: FerResNet, path: str | Path, labels: tuple | None = None) -> list[str]:
    """Load a local torchvision state dict or one of our checkpoints into the trunk.

    RGB first-layer weights are summed over colour channels for a grayscale stem
    (the response to a gray image is then unchanged). The classifier head is loaded only
    from one of our checkpoints with exactly ``labels`` (continuing training on the same
    task, e.g. from ``fer-ros recover``); a transferred model starts with a fresh head.
    Returns the names of the tensors that were not loaded.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights {path} do not exist; pass a local "
                                "torchvision .pth or a fer_ros checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign/corrupt files
        raise ValueError(f"pretrained weights {path} cannot be read with weights_only=True "
                         f"({exc}); save a state dict: torch.save(model.state_dict(), path)") \
            from None
    target = model.state_dict()
    loaded, misfits = {}, []
    same_task = labels is not None and list(state.get("labels") or []) == list(labels)
    for key, value in _source_tensors(state, keep_head=same_task).items():
        if key in target:
            value = _adapt_first_layer(key, value, target[key])
            if value.shape == target[key].shape:
                loaded[key] = value
            elif key.startswith("trunk.layer"):
                misfits.append(key)
    # Head and stem may differ (new classes, small stem); the stages must not.
    if misfits or not any(k.startswith("trunk.layer") for k in loaded):
        raise ValueError(f"pretrained weights {path} share no ResNet stage with this "
                         f"model ({len(misfits)} stage tensors of another shape, e.g. "
                         f"{misfits[:2]}); use weights of the same arch (a torchvision "
                         "resnet state dict or a fer_ros checkpoint)")
    model.load_state_dict(loaded, strict=False)
    return sorted(set(target) - set(loaded))


def _source_tensors(state: dict, keep_head: bool = False) -> dict:
    """Our checkpoint ({"model": ...}) as is; torchvision state dicts prefixed with trunk."""
    if isinstance(state.get("model"), dict):
        # Transfer keeps the trunk and gives the new task a fresh head (the sources'
        # "dense top replaced"): class order and count of the source task are unrelated.
        return {k: v for k, v in state["model"].items()
                if keep_head or not k.startswith("head.")}
    if isinstance(state.get("state_dict"), dict):  # common wrapper of other trainers
        state = state["state_dict"]
    tensors = {k.removeprefix("module."): v for k, v in state.items()
               if isinstance(v, torch.Tensor)}
    return {f"trunk.{k}": v for k, v in tensors.items() if not k.startswith("fc.")}


def _adapt_first_layer(key: str, value: torch.Tensor, want: torch.Tensor) -> torch.Tensor:
    """RGB conv1 -> gray by summing the colour filters (same response to a gray image);
    gray -> RGB by spreading it over the three channels."""
    if key != "trunk.conv1.weight" or value.shape[2:] != want.shape[2:]:
        return value
    if value.shape[1] == 3 and want.shape[1] == 1:
        return value.sum(dim=1, keepdim=True)
    if value.shape[1] == 1 and want.shape[1] == 3:
        return value.repeat(1, 3, 1, 1) / 3
    return value


def model_from_checkpoint(state: dict) -> FerResNet:
    """The fp32 eval-mode network of a ``fer-ros train`` checkpoint (already loaded).

    The one checkpoint -> model rebuild (evaluate, export and the torch backend use it);
    config keys older checkpoints lack take create_model's defaults. RuntimeError when the
    weights do not fit the architecture the config names.
    """
    cfg = state["config"]
    model = create_model(cfg["arch"], len(state["labels"]), cfg.get("channels", 1),
                         cfg.get("stem", "standard"), cfg.get("head", "linear"),
                         cfg.get("dropout", 0.0))
    model.load_state_dict(state["model"])
    return model.float().to(memory_format=torch.contiguous_format).eval()


def set_trainable(model: FerResNet, unfreeze_stages: int, head_only: bool = False) -> None:
    """Freeze the stem and all but the last ``unfreeze_stages`` stages (or all: head_only)."""
    trainable = set() if head_only else set(STAGES[len(STAGES) - unfreeze_stages:])
    for name, param in model.trunk.named_parameters():
        stage = name.split(".")[0]
        param.requires_grad = stage in trainable or (unfreeze_stages == 4 and not head_only)
    for param in model.head.parameters():
        param.requires_grad = True
