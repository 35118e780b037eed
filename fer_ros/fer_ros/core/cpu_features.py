"""What the CPU can do, where it decides which network runs.

ONNX Runtime's x86 int8 kernels multiply uint8 activations by int8 weights (U8S8). Without
VNNI (AVX512-VNNI or AVX-VNNI) they use VPMADDUBSW, which adds pairs of products into 16 bits
with saturation: full-range 8-bit weights overflow and the network loses accuracy (measured:
the FER+ INT8 network 83.5% -> 79.5% on PublicTest on an AVX2-only EPYC, -0.1 point with VNNI).
Weights quantised to 7 bits (``reduce_range``) cannot overflow; ``fer-ros quantize`` writes
those, and ``precision: auto`` avoids older full-range networks on such CPUs.
"""
from __future__ import annotations

import functools
import platform

VNNI_FLAGS = ("avx512_vnni", "avx_vnni")


@functools.lru_cache(maxsize=1)
def x86_without_vnni(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True on an x86-64 CPU whose flags lack VNNI (False elsewhere, or when unknown)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            flags = next((line.split(":", 1)[1].split() for line in handle
                          if line.startswith("flags")), None)
    except OSError:
        return False
    return flags is not None and not any(flag in flags for flag in VNNI_FLAGS)
