"""Batch augmentation on already-preprocessed tensors (train preset only).

The eval preset is the identity: evaluation and the robot see exactly
``face_to_tensor`` output. Augmentations follow the ResNet152 source system:
rotation, zoom, width/height shift, horizontal flip, brightness, plus random
erasing. One affine warp per batch keeps this cheap on a 2-core CPU.
Random numbers come from the run's CPU generator (checkpointed, so resumes are
exact); the warp itself runs wherever the batch is (CPU or GPU).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class TrainAugment:
    def __init__(self, rotate_deg: float, zoom: float, shift: float, hflip: bool,
                 brightness: float, erase_prob: float) -> None:
        self.rotate = math.radians(rotate_deg)
        self.zoom, self.shift, self.hflip = zoom, shift, hflip
        self.brightness, self.erase_prob = brightness, erase_prob

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n = x.shape[0]

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return lo + (hi - lo) * torch.rand(n, generator=gen)

        angle = uniform(-self.rotate, self.rotate)
        scale = uniform(1 - self.zoom, 1 + self.zoom)
        tx, ty = uniform(-self.shift, self.shift) * 2, uniform(-self.shift, self.shift) * 2
        flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0) if self.hflip \
            else torch.ones(n)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1),
                             torch.stack([sin * flip, cos, ty], 1)], 1)
        grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if self.brightness:
            gain = uniform(1 - self.brightness, 1 + self.brightness).view(n, 1, 1, 1)
            offset = uniform(-self.brightness, self.brightness).view(n, 1, 1, 1)
            x = x * gain.to(x.device) + offset.to(x.device)
        if self.erase_prob:
            x = self._erase(x, gen)
        return x

    def _erase(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        side = (torch.rand(n, generator=gen) * 0.3 + 0.1) * h
        cy, cx = torch.rand(n, generator=gen) * h, torch.rand(n, generator=gen) * w
        ys = torch.arange(h).view(1, h, 1)
        xs = torch.arange(w).view(1, 1, w)
        half = (side / 2).view(n, 1, 1)
        box = ((ys - cy.view(n, 1, 1)).abs() < half) & ((xs - cx.view(n, 1, 1)).abs() < half)
        apply = (torch.rand(n, generator=gen) < self.erase_prob).view(n, 1, 1)
        return x.masked_fill((box & apply).unsqueeze(1).to(x.device), 0.0)
