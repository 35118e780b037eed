"""The one ONNX Runtime session set-up: the classifier backend, YuNet and export/quantize.

    session = ort_session(path, threads=2, what="YuNet model", fix="re-copy it")
"""
from __future__ import annotations

from pathlib import Path

from fer_ros.core.errors import ModelError

CPU = ("CPUExecutionProvider",)


def ort_session(path: str | Path, threads: int = 0, providers=CPU, what: str = "network",
                fix: str = "the file is corrupt or not ONNX: re-export it"):
    """An ``onnxruntime.InferenceSession`` with ``threads`` intra-op threads (0: ORT's default).

    One inter-op thread and no busy-waiting between calls: on a robot other nodes share
    the cores, and a spinning pool doubled CPU time for the same latency in our
    measurements. A file ORT cannot load raises ModelError naming ``what`` and ``fix``.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=list(providers))
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
        raise ModelError(f"{path} ({what}): onnxruntime cannot load the network "
                         f"({type(exc).__name__}: {exc}); {fix}") from None
