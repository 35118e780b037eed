"""Model bundle: a directory with the networks (``model.onnx``, ``model.int8.onnx``) and one
metadata file (``model.json``).

Nothing about a model is hard-coded in the runtime: labels, input size, channels,
normalisation and crop margin all come from ``model.json``, so a 6-class or an
8-class model runs with no code change. Format (version 1)::

    {"format_version": 1, "name": "...", "version": "1.0.0",
     "network": "model.onnx", "network_sha256": "<hex>",
     "labels": ["angry", ...],
     "input": {"name": "input", "size": 64, "channels": 1, "mean": [0.5], "std": [0.5],
               "crop_margin": 0.15, "layout": "NCHW", "dtype": "float32"},
     "output": {"name": "probabilities", "softmax_applied": true}, ...,
     "networks": {"fp32": {"file": "model.onnx", "sha256": "<hex>", "metrics": {...}},
                  "int8": {"file": "model.int8.onnx", "sha256": "<hex>",
                           "quantization": {...}, "metrics": {...}}}}

``network``/``network_sha256`` stay the fp32 network, so a reader that predates
``networks`` (optional, format_version still 1) loads the fp32 network unchanged; a bundle
without ``networks`` has one network of precision ``precision`` (default fp32).
:meth:`Bundle.with_precision` gives the bundle view the backends load.

Every problem raises :class:`ModelError` naming the file and the fix.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from fer_ros.core.errors import InputError, ModelError
from fer_ros.core.paths import find_model_file
from fer_ros.core.preprocess import InputSpec

FORMAT_VERSION = 1
NETWORK_PRECISIONS = ("fp32", "fp16", "int8")
METADATA_FILE = "model.json"
#: models/DEFAULT names the default bundle (one line: a folder beside it), so the default is a
#: pointer, not a copy of a bundle
DEFAULT_POINTER = "DEFAULT"


def default_bundle_path() -> Path:
    """The packaged default bundle: the one models/DEFAULT names (source tree or share dir)."""
    pointer = find_model_file(DEFAULT_POINTER)
    name = pointer.read_text(encoding="utf-8").strip()
    path = pointer.parent / name
    if not name or "/" in name or not path.is_dir():
        raise ModelError(f"{pointer} names bundle {name!r}, which is not a folder beside it; "
                         "write the name of a bundle folder in models/ (e.g. ferplus)")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Network:
    """One network file of a bundle and its entry in ``networks`` (metrics, quantization)."""

    precision: str
    path: Path
    info: dict = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class Bundle:
    """A validated model bundle; ``metadata`` keeps every field of model.json.

    ``network_path`` is the network of ``precision`` (the backends load it); ``networks``
    holds every network of the bundle by precision."""

    path: Path
    name: str
    version: str
    network_path: Path
    labels: tuple[str, ...]
    input_name: str
    output_name: str
    softmax_applied: bool
    input_spec: InputSpec
    metadata: dict = field(repr=False, default_factory=dict)
    temperature: float = 1.0   # output.temperature (fer-ros calibrate); 1.0 = uncalibrated
    class_prior: tuple[float, ...] | None = None  # output.class_prior: training label shares
    precision: str = "fp32"
    networks: dict = field(repr=False, default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def has(self, precision: str) -> bool:
        return precision in self.networks

    def with_precision(self, precision: str) -> "Bundle":
        """This bundle with ``network_path`` on its ``precision`` network."""
        if precision not in self.networks:
            raise ModelError(f"bundle {self.path} has no {precision} network (it has "
                             f"{', '.join(self.networks)}); add one with `fer-ros quantize "
                             f"{self.path}` (int8) or set classifier.precision to one of those")
        return replace(self, network_path=self.networks[precision].path, precision=precision)

    def check_network_io(self, input_name: str, input_shape, output_name: str,
                         output_shape) -> None:
        """Compare what an engine reports about the network with the metadata.

        Shapes may hold None or strings for dynamic axes; only fixed sizes are compared.
        """
        spec = self.input_spec
        where = f"{self.network_path} (bundle {self.path})"
        if input_name != self.input_name or output_name != self.output_name:
            raise ModelError(f"{where}: network I/O is {input_name!r} -> {output_name!r} but "
                             f"model.json says {self.input_name!r} -> {self.output_name!r}; "
                             "re-export the bundle with `fer-ros export`")
        want = (None, spec.channels, spec.size, spec.size)
        if len(input_shape) != 4 or any(isinstance(got, int) and w is not None and got != w
                                        for got, w in zip(input_shape, want)):
            raise ModelError(f"{where}: network input shape {list(input_shape)} does not match "
                             f"model.json input (N, {spec.channels}, {spec.size}, {spec.size}); "
                             "fix input.size/channels in model.json or re-export")
        classes = output_shape[-1] if len(output_shape) == 2 else None
        if len(output_shape) != 2 or (isinstance(classes, int) and classes != self.num_classes):
            raise ModelError(f"{where}: network output shape {list(output_shape)} does not "
                             f"match the {self.num_classes} labels in model.json "
                             f"{list(self.labels)}; fix the labels list or re-export the bundle")


def _require(meta: dict, key: str, kind, where: str):
    if key not in meta:
        raise ModelError(f"{where}: missing field {key!r}; re-export the bundle with "
                         "`fer-ros export` or add the field")
    value = meta[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ModelError(f"{where}: field {key!r} must be {getattr(kind, '__name__', kind)}, "
                         f"got {value!r}")
    return value


def _read_metadata(meta_path: Path) -> dict:
    if not meta_path.is_file():
        raise ModelError(f"{meta_path}: no such file; a bundle is a directory with "
                         f"{METADATA_FILE} and the network; create one with `fer-ros export`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc}); the file is corrupt, "
                         "re-export the bundle") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{meta_path}: expected a JSON object, got {type(meta).__name__}")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelError(f"{meta_path}: missing or non-integer 'format_version'; "
                         f"this fer_ros reads format_version {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise ModelError(f"{meta_path}: bundle format_version {version} is newer than this "
                         f"fer_ros understands ({FORMAT_VERSION}); upgrade fer_ros or "
                         "export the model with the matching version")
    if version < 1:
        raise ModelError(f"{meta_path}: invalid format_version {version}")
    return meta


def _input_spec(inp: dict, where: str) -> InputSpec:
    layout, dtype = inp.get("layout", "NCHW"), inp.get("dtype", "float32")
    if layout != "NCHW" or dtype != "float32":
        raise ModelError(f"{where}: input layout/dtype {layout}/{dtype} not supported; "
                         "fer_ros feeds NCHW float32")
    try:
        return InputSpec.from_dict(inp)
    except KeyError as exc:
        raise ModelError(f"{where}: input is missing {exc}; needs size, channels, mean, std")
    except (TypeError, ValueError, InputError) as exc:
        raise ModelError(f"{where}: invalid input description: {exc}") from None


def load_bundle(path: str | Path | None = None, verify_sha256: bool = True) -> Bundle:
    """Read and validate a bundle directory (default: :func:`default_bundle_path`)."""
    path = Path(path) if path else default_bundle_path()
    if not path.is_dir():
        raise ModelError(f"model bundle {path} is not a directory; pass the directory that "
                         f"holds {METADATA_FILE} and the network file")
    meta_path = path / METADATA_FILE
    meta = _read_metadata(meta_path)
    where = str(meta_path)
    labels = _require(meta, "labels", list, where)
    if len(labels) < 2 or not all(isinstance(x, str) and x for x in labels) \
            or len(set(labels)) != len(labels):
        raise ModelError(f"{where}: labels must be >= 2 distinct non-empty strings, got {labels}")
    inp = _require(meta, "input", dict, where)
    out = meta.get("output", {})
    networks = _networks(meta, path, where, verify_sha256)
    primary = str(meta.get("precision", "fp32"))
    return Bundle(path=path, name=str(meta.get("name", path.name)),
                  version=str(meta.get("version", "0")),
                  network_path=networks[primary].path,
                  labels=tuple(labels), input_name=str(inp.get("name", "input")),
                  output_name=str(out.get("name", "probabilities")),
                  softmax_applied=bool(out.get("softmax_applied", True)),
                  input_spec=_input_spec(inp, where), metadata=meta,
                  precision=primary, networks=networks,
                  temperature=_temperature(out, where),
                  class_prior=_class_prior(out, len(labels), where))


def _networks(meta: dict, path: Path, where: str, verify_sha256: bool) -> dict:
    """{precision: Network}: the top-level ``network`` plus every ``networks`` entry."""
    primary = meta.get("precision", "fp32")
    if primary not in NETWORK_PRECISIONS:
        raise ModelError(f"{where}: precision must be one of {NETWORK_PRECISIONS}, "
                         f"got {primary!r}")
    entries = {primary: {"file": _require(meta, "network", str, where),
                         "sha256": meta.get("network_sha256")}}
    extra = meta.get("networks", {})
    if not isinstance(extra, dict):
        raise ModelError(f"{where}: 'networks' must map a precision to {{file, sha256}}")
    for precision, entry in extra.items():
        if precision not in NETWORK_PRECISIONS or not isinstance(entry, dict) \
                or not isinstance(entry.get("file"), str):
            raise ModelError(f"{where}: networks.{precision} must be one of "
                             f"{NETWORK_PRECISIONS} with a 'file' string, got {entry!r}")
        if precision == primary and entry["file"] != entries[primary]["file"]:
            raise ModelError(f"{where}: networks.{precision}.file {entry['file']!r} differs "
                             f"from 'network' {entries[primary]['file']!r}; re-export")
        entries[precision] = {**entry, "sha256": entry.get("sha256")
                              or entries.get(precision, {}).get("sha256")}
    fields = {p: "network_sha256" if p == primary else f"networks.{p}.sha256" for p in entries}
    return {precision: Network(precision, _checked_file(path, entry, where, verify_sha256,
                                                        fields[precision]), entry)
            for precision, entry in entries.items()}


def _checked_file(path: Path, entry: dict, where: str, verify_sha256: bool,
                  field: str) -> Path:
    network_path = path / entry["file"]
    if not network_path.is_file():
        raise ModelError(f"{network_path}: network file named in {where} does not exist; "
                         "copy it into the bundle or re-export")
    expected = entry.get("sha256")
    if verify_sha256 and expected:
        actual = file_sha256(network_path)
        if actual != str(expected).lower():
            raise ModelError(f"{network_path}: SHA-256 {actual} differs from {field} in "
                             f"{where}; the file is corrupt or was replaced: re-copy or "
                             "re-export the bundle")
    return network_path


def _temperature(out: dict, where: str) -> float:
    value = out.get("temperature", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.05 <= value <= 20:
        raise ModelError(f"{where}: output.temperature must be a number in [0.05, 20], got "
                         f"{value!r}; re-run fer-ros calibrate or remove the field")
    return float(value)


def _class_prior(out: dict, classes: int, where: str) -> tuple[float, ...] | None:
    value = out.get("class_prior")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != classes or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in value) \
            or abs(sum(value) - 1.0) > 1e-3:
        raise ModelError(f"{where}: output.class_prior must be {classes} positive shares that "
                         f"sum to 1 (one per label), got {value!r}; re-run "
                         "scripts/logit_adjustment.py --write or remove the field")
    return tuple(float(v) for v in value)
