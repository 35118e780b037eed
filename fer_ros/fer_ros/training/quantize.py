"""Adds a static INT8 network to a model bundle for CPU robots, measured before it is written.

    fer-ros quantize --model fer_ros/models/ferplus          # in place: + model.int8.onnx
    fer-ros quantize --model fer_ros/models/ferplus out/b    # a copy of the bundle, + int8

ONNX Runtime static quantisation (QDQ, per-channel int8 weights, uint8 or int8 activations)
calibrated on real FER2013 *Training* faces. The fp32 and int8 networks are then
compared on the validation split (top-1 accuracy) and timed on the CPU (batch 1
and 8). When int8 loses more than ``max_drop`` accuracy points, nothing is
written (unless ``force``): a faster but worse model is not silently shipped.
The result is ``model.int8.onnx`` plus a ``networks.int8`` entry (quantization, metrics)
in the bundle's one ``model.json``; the fp32 network stays as it is.
"""
from __future__ import annotations

import dataclasses
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from fer_ros.core.bundle import Bundle, file_sha256, load_bundle
from fer_ros.core.ort_session import ort_session
from fer_ros.core.paths import shared_dir
from fer_ros.training.config import TrainConfig
from fer_ros.training.ferplus import FERPLUS_RELATIVE
from fer_ros.training.export import (DEFAULT_DATA, faces_to_batch, ort_predict,
                                     sample_fer2013, validation_faces, write_json)


class QuantizeError(RuntimeError):
    """Quantisation was refused or failed; the message gives the numbers and the way out."""

    def __init__(self, message: str, report: dict | None = None) -> None:
        super().__init__(message)
        self.report = report or {}


class FaceCalibrationReader:
    """onnxruntime CalibrationDataReader over preprocessed real faces, in small batches."""

    def __init__(self, x: np.ndarray, input_name: str, batch_size: int = 32) -> None:
        self.batches = [x[i:i + batch_size] for i in range(0, len(x), batch_size)]
        self.input_name = input_name
        self.position = 0

    def get_next(self) -> dict | None:
        if self.position >= len(self.batches):
            return None
        self.position += 1
        return {self.input_name: self.batches[self.position - 1]}

    def rewind(self) -> None:
        self.position = 0


ACTIVATION_TYPES = ("uint8", "int8")


def quantize_network(bundle: Bundle, out_path: Path, calibration: np.ndarray,
                     activations: str = "uint8") -> None:
    """Write the QDQ int8 network for ``bundle`` to ``out_path``.

    uint8 activations + int8 weights (U8S8) is what ONNX Runtime's x86 kernels run
    fastest (VNNI); int8 activations (S8S8, symmetric) is what TensorRT's explicit
    quantisation needs, so ``build-engine --precision int8`` wants such a bundle. U8S8
    weights use 7 bits (``reduce_range``): full-range ones overflow on x86 CPUs without VNNI
    (fer_ros.core.cpu_features), and the network must be right on every CPU it ships to.
    """
    if activations not in ACTIVATION_TYPES:
        raise QuantizeError(f"activations must be one of {ACTIVATION_TYPES}, "
                            f"got {activations!r}")
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Folds constants and fuses ops first, so quantisation sees the graph ORT will run.
        quant_pre_process(str(bundle.network_path), str(prepared))
        softmax = [n.name for n in onnx.load(str(prepared)).graph.node if n.op_type == "Softmax"]
        quantize_static(str(prepared), str(out_path),
                        FaceCalibrationReader(calibration, bundle.input_name),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type={"uint8": QuantType.QUInt8,
                                         "int8": QuantType.QInt8}[activations],
                        weight_type=QuantType.QInt8, reduce_range=reduces_range(activations),
                        # probabilities stay float: 8 bits would round small ones to 0
                        nodes_to_exclude=softmax,
                        # TensorRT accepts only zero-point-0 (symmetric) int8 Q/DQ
                        extra_options={"ActivationSymmetric": activations == "int8",
                                       "WeightSymmetric": True})


def reduces_range(activations: str) -> bool:
    """7-bit weights for ONNX Runtime's U8S8 kernels (see quantize_network)."""
    return activations == "uint8"


def accuracy(session, x: np.ndarray, y: np.ndarray) -> float:
    return float((ort_predict(session, x).argmax(1) == y).mean())


def paired_latency_ms(first, second, x: np.ndarray, batch: int, runs: int,
                      clock=time.perf_counter) -> tuple[float, float]:
    """Median time of one ``run`` on ``batch`` faces for two sessions, in ms.

    The two are timed in alternating blocks, so a busy machine (training in the
    background) slows both alike instead of biasing the ratio. ``clock`` is wall
    time by default; ``time.thread_time`` gives the CPU time of a 1-thread session,
    which preemption by other processes does not inflate.
    """
    feeds = [({s.get_inputs()[0].name: np.ascontiguousarray(x[:batch])},
              [s.get_outputs()[0].name]) for s in (first, second)]
    times: tuple[list, list] = ([], [])
    block = max(1, runs // 5)
    for _ in range(0, runs, block):
        for session, (feed, output), log in zip((first, second), feeds, times):
            for _ in range(2):  # warm-up: caches, thread pool wake-up
                session.run(output, feed)
            for _ in range(block):
                start = clock()
                session.run(output, feed)
                log.append((clock() - start) * 1000.0)
    return statistics.median(times[0]), statistics.median(times[1])


def compare(fp32_path: Path, int8_path: Path, x: np.ndarray, y: np.ndarray,
            threads: int, runs: int) -> dict:
    fp32, int8 = ort_session(fp32_path, threads), ort_session(int8_path, threads)
    report = {"val_faces": int(len(x)), "threads": threads, "timed_runs": runs,
              "fp32_accuracy": accuracy(fp32, x, y), "int8_accuracy": accuracy(int8, x, y)}
    report["accuracy_drop_points"] = 100.0 * (report["fp32_accuracy"] - report["int8_accuracy"])
    single = ort_session(fp32_path, 1), ort_session(int8_path, 1)
    for batch in (1, 8):
        t32, t8 = paired_latency_ms(fp32, int8, x, batch, runs)
        report.update({f"fp32_batch{batch}_ms": t32, f"int8_batch{batch}_ms": t8,
                       f"speedup_batch{batch}": t32 / t8})
        c32, c8 = paired_latency_ms(*single, x, batch, runs, clock=time.thread_time)
        report.update({f"fp32_batch{batch}_cpu_ms": c32, f"int8_batch{batch}_cpu_ms": c8,
                       f"cpu_time_speedup_batch{batch}": c32 / c8})
    return report


INT8_FILE = "model.int8.onnx"


def int8_entry(bundle: Bundle, network_sha256: str, report: dict, calib: dict) -> dict:
    """The ``networks.int8`` entry of model.json: file, SHA-256, how it was made, metrics."""
    fp32 = bundle.with_precision("fp32")
    dataset = bundle.metadata.get("training", {}).get("dataset", "fer2013")
    key = f"{dataset}_{calib['val_split'].lower()}"
    quantization = {
        "method": "onnxruntime static", "format": "QDQ", "per_channel": True,
        "activations": calib["activations"], "weights": "int8",
        "reduce_range": reduces_range(calib["activations"]), "excluded": ["Softmax"],
        "calibration": {"dataset": dataset, "split": calib["split"], "faces": calib["faces"]},
        "source_network": fp32.network_path.name,
        "source_network_sha256": file_sha256(fp32.network_path),
    }
    metrics = {
        f"{key}_accuracy": report["int8_accuracy"], f"{key}_faces": report["val_faces"],
        f"fp32_{key}_accuracy": report["fp32_accuracy"],
        "accuracy_drop_points": report["accuracy_drop_points"],
        **{k: report[k] for k in report
           if k.startswith(("speedup_", "cpu_time_speedup_", "fp32_batch", "int8_batch"))},
        "cpu_threads": report["threads"],
    }
    return {"file": INT8_FILE, "sha256": network_sha256, "quantization": quantization,
            "metrics": metrics}


def bundle_metadata_with(bundle: Bundle, precision: str, entry: dict) -> dict:
    """model.json of ``bundle`` with ``networks[precision] = entry``; the top-level
    ``network`` (fp32) and its ``networks.fp32`` entry stay, so old readers load fp32."""
    meta = dict(bundle.metadata)
    networks = dict(meta.get("networks") or {})
    networks.setdefault("fp32", {"file": meta["network"], "sha256": meta.get("network_sha256"),
                                 "metrics": meta.get("metrics", {})})
    networks[precision] = entry
    meta["networks"] = networks
    return meta


def copy_bundle(bundle: Bundle, out_dir: Path) -> Bundle:
    """``bundle``'s model.json and networks copied to ``out_dir`` (engines are not)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for network in bundle.networks.values():
        shutil.copy2(network.path, out_dir / network.path.name)
    shutil.copy2(bundle.path / "model.json", out_dir / "model.json")
    return load_bundle(out_dir)


def _validation_faces(bundle: Bundle, data, count: int):
    """The bundle's own validation split (its labels, in its class order): FER+ for a FER+
    model, else FER2013 PublicTest as before."""
    training = bundle.metadata.get("training", {})
    if training.get("dataset", "fer2013") == "fer2013":
        val_split = training.get("config", {}).get("val_split", "PublicTest")
        return sample_fer2013(data, val_split, count)
    cfg = TrainConfig.from_dict(training["config"])
    if cfg.labels and not Path(cfg.labels).is_file():  # trained on another machine
        cfg = dataclasses.replace(cfg, labels=str(shared_dir() / FERPLUS_RELATIVE))
    return validation_faces(cfg, data, count)


def quantize_bundle(bundle_dir: str | Path, out_dir: str | Path | None = None,
                    data: str | Path = DEFAULT_DATA,
                    calib_faces: int = 512, val_faces: int = 0, max_drop: float = 1.0,
                    force: bool = False, threads: int = 2, runs: int = 50,
                    activations: str = "uint8", log=print) -> dict:
    """The whole ``fer-ros quantize``; returns the report (and ``written``: bool).

    ``out_dir`` None (or the bundle itself): the INT8 network is added in place; else the
    bundle is copied there first and the copy gets it."""
    bundle = load_bundle(bundle_dir).with_precision("fp32")
    spec = bundle.input_spec
    calib_split = "Training"
    val_split = bundle.metadata.get("training", {}).get("config", {}).get("val_split",
                                                                          "PublicTest")
    faces, _ = sample_fer2013(data, calib_split, calib_faces)
    log(f"calibrating on {len(faces)} real FER2013 {calib_split} faces")
    with tempfile.TemporaryDirectory() as tmp:
        int8_path = Path(tmp) / "model.onnx"
        quantize_network(bundle, int8_path, faces_to_batch(faces, spec), activations)
        vx, vy = _validation_faces(bundle, data, val_faces)
        report = compare(bundle.network_path, int8_path, faces_to_batch(vx, spec), vy,
                         threads, runs)
        log(f"{val_split} ({report['val_faces']} faces): fp32 {report['fp32_accuracy']:.4f}, "
            f"int8 {report['int8_accuracy']:.4f} ({-report['accuracy_drop_points']:+.2f} "
            f"points); speed-up x{report['speedup_batch1']:.2f} (batch 1), "
            f"x{report['speedup_batch8']:.2f} (batch 8) wall time with {threads} threads; "
            f"x{report['cpu_time_speedup_batch1']:.2f} / x{report['cpu_time_speedup_batch8']:.2f}"
            " CPU time, 1 thread")
        too_worse = report["accuracy_drop_points"] > max_drop
        report["written"] = not too_worse or force
        if too_worse and not force:
            raise QuantizeError(
                f"int8 loses {report['accuracy_drop_points']:.2f} accuracy points on "
                f"{report['val_faces']} {val_split} faces (fp32 {report['fp32_accuracy']:.4f} "
                f"-> int8 {report['int8_accuracy']:.4f}), more than --max-drop {max_drop}; "
                f"nothing written to {out_dir or bundle.path}. Use the fp32 network, or "
                "--force to write it", report)
        calib = {"split": calib_split, "faces": int(len(faces)), "val_split": val_split,
                 "activations": activations}
        entry = int8_entry(bundle, file_sha256(int8_path), report, calib)
        if too_worse:
            entry["warning"] = (f"accuracy drop {report['accuracy_drop_points']:.2f} points "
                                f"exceeds {max_drop}; written with --force")
        target = bundle
        if out_dir and Path(out_dir).resolve() != bundle.path.resolve():
            target = copy_bundle(bundle, Path(out_dir))
        # the network first, model.json last: a reader never sees an entry without its file
        shutil.move(str(int8_path), target.path / INT8_FILE)
        write_json(target.path / "model.json", bundle_metadata_with(target, "int8", entry))
    log(f"int8 network {target.path / INT8_FILE} added to bundle {target.path}")
    return report
