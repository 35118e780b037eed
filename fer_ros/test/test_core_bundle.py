"""Model bundle loading and validation: every broken bundle fails with the file and the fix."""
import json
import shutil

import pytest

from fer_ros.core.bundle import FORMAT_VERSION, default_bundle_path, load_bundle
from fer_ros.core.classify import OnnxRuntimeBackend
from fer_ros.core.errors import ModelError

from core_helpers import make_test_bundle, rewrite_metadata

SIX = ["anger", "disgust", "fear", "happiness", "sadness", "surprise"]


@pytest.fixture(scope="module")
def six_class_bundle(tmp_path_factory):
    pytest.importorskip("torch", reason="building a test bundle needs torch")
    return make_test_bundle(tmp_path_factory.mktemp("six") / "bundle", SIX, size=40)


@pytest.fixture()
def bundle_copy(six_class_bundle, tmp_path):
    return shutil.copytree(six_class_bundle, tmp_path / "copy")


def test_valid_bundle_loads_with_its_metadata(six_class_bundle):
    bundle = load_bundle(six_class_bundle)
    assert bundle.labels == tuple(SIX) and bundle.num_classes == 6
    assert bundle.input_spec.size == 40 and bundle.input_spec.channels == 1
    assert bundle.input_spec.crop_margin == pytest.approx(0.15)
    assert bundle.network_path.name == "model.onnx"
    assert bundle.name == "test_tiny" and bundle.version == "0.0.1"


def test_missing_directory_and_metadata(tmp_path):
    with pytest.raises(ModelError, match="not a directory"):
        load_bundle(tmp_path / "nowhere")
    with pytest.raises(ModelError, match="model.json: no such file"):
        load_bundle(tmp_path)


def test_future_format_version_asks_for_an_upgrade(bundle_copy):
    rewrite_metadata(bundle_copy, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelError, match="newer than this fer_ros understands.*upgrade"):
        load_bundle(bundle_copy)


def test_corrupt_metadata_names_the_file(bundle_copy):
    (bundle_copy / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"model\.json: not valid JSON"):
        load_bundle(bundle_copy)


def test_missing_network_file(bundle_copy):
    (bundle_copy / "model.onnx").unlink()
    with pytest.raises(ModelError, match=r"model\.onnx: network file .* does not exist"):
        load_bundle(bundle_copy)


def test_changed_network_fails_the_sha256_check(bundle_copy):
    with open(bundle_copy / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="SHA-256 .* differs .* re-export"):
        load_bundle(bundle_copy)


def test_corrupt_network_is_a_model_error_at_start_up(bundle_copy):
    (bundle_copy / "model.onnx").write_bytes(b"garbage" * 100)
    with pytest.raises(ModelError, match="cannot load the network"):
        OnnxRuntimeBackend(load_bundle(bundle_copy, verify_sha256=False))


def test_labels_that_disagree_with_the_network_output(bundle_copy):
    rewrite_metadata(bundle_copy, labels=SIX + ["neutral"])
    bundle = load_bundle(bundle_copy)  # metadata alone is consistent...
    with pytest.raises(ModelError, match="output shape .* does not match the 7 labels"):
        OnnxRuntimeBackend(bundle)     # ...the network says 6 classes


def test_input_size_that_disagrees_with_the_network(bundle_copy):
    meta = json.loads((bundle_copy / "model.json").read_text())
    meta["input"]["size"] = 64
    (bundle_copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="input shape"):
        OnnxRuntimeBackend(load_bundle(bundle_copy))


@pytest.mark.parametrize("changes, message", [
    ({"labels": ["only_one"]}, "labels must be >= 2 distinct"),
    ({"labels": ["a", "a", "b"]}, "labels must be >= 2 distinct"),
    ({"labels": "angry,happy"}, "'labels' must be list"),
    ({"input": {"size": 40, "channels": 2, "mean": [0.5], "std": [0.5]}}, "input channels"),
    ({"input": {"size": 40, "channels": 1}}, "missing 'mean'"),
    ({"format_version": "one"}, "format_version"),
    ({"output": {"class_prior": [0.5, 0.5]}}, "class_prior must be"),  # not one per label
    ({"output": {"class_prior": [1.0] + [0.0] * 6}}, "class_prior must be"),  # a zero share
])
def test_invalid_metadata_fields(bundle_copy, changes, message):
    rewrite_metadata(bundle_copy, **changes)
    with pytest.raises(ModelError, match=message):
        load_bundle(bundle_copy)


def test_default_bundle_is_the_bundle_models_default_names():
    path = default_bundle_path()  # the repository ships models/DEFAULT: no skip
    pointer = path.parent / "DEFAULT"
    assert path.name == pointer.read_text().strip() and (path / "model.json").is_file(), \
        f"default bundle {path} is not the folder named in {pointer}"


def test_a_default_pointer_naming_no_bundle_is_a_clear_error(tmp_path, monkeypatch):
    import fer_ros.core.bundle as bundle_module
    (tmp_path / "DEFAULT").write_text("no_such_bundle\n")
    monkeypatch.setattr(bundle_module, "find_model_file", lambda name: tmp_path / name)
    with pytest.raises(ModelError, match="no_such_bundle.*not a folder beside it"):
        bundle_module.default_bundle_path()


def test_default_bundle_is_valid(default_bundle):
    bundle = default_bundle
    backend = OnnxRuntimeBackend(bundle)  # checks network I/O against the metadata
    assert backend.name == "onnxruntime-cpu" and bundle.num_classes >= 2


def test_default_bundle_carries_fp32_and_int8_in_one_model_json(default_bundle):
    from fer_ros.core.bundle import file_sha256
    assert set(default_bundle.networks) == {"fp32", "int8"}
    assert default_bundle.precision == "fp32" and default_bundle.network_path.name == "model.onnx"
    int8 = default_bundle.with_precision("int8")
    assert int8.network_path.name == "model.int8.onnx" and int8.precision == "int8"
    meta = default_bundle.metadata
    assert meta["networks"]["int8"]["sha256"] == file_sha256(int8.network_path)
    assert meta["networks"]["int8"]["quantization"]["activations"] == "uint8"
    drop = meta["networks"]["int8"]["metrics"]["accuracy_drop_points"]
    assert 0 <= drop <= 1.0, f"shipped int8 network loses {drop} points"
    for precision in ("fp32", "int8"):  # both networks load and match the metadata
        OnnxRuntimeBackend(default_bundle.with_precision(precision), threads=1)
    assert not (default_bundle.path.parent / "default_int8").exists()


def test_a_bundle_without_networks_is_one_network_of_its_precision(bundle_copy):
    """Bundles written before the networks map (format_version 1) load unchanged."""
    meta = json.loads((bundle_copy / "model.json").read_text())
    meta.pop("networks", None)
    (bundle_copy / "model.json").write_text(json.dumps(meta))
    bundle = load_bundle(bundle_copy)
    assert set(bundle.networks) == {"fp32"} and bundle.network_path.name == "model.onnx"
    with pytest.raises(ModelError, match="has no int8 network.*fer-ros quantize"):
        bundle.with_precision("int8")
    meta["precision"] = "int8"  # an old separate INT8 bundle
    (bundle_copy / "model.json").write_text(json.dumps(meta))
    assert set(load_bundle(bundle_copy).networks) == {"int8"}


def test_a_second_network_is_checked_like_the_first(bundle_copy):
    shutil.copy(bundle_copy / "model.onnx", bundle_copy / "model.int8.onnx")
    rewrite_metadata(bundle_copy, networks={"int8": {"file": "model.int8.onnx",
                                                     "sha256": "0" * 64}})
    with pytest.raises(ModelError,
                       match=r"model\.int8\.onnx: SHA-256 .* differs from networks\.int8\.sha256"):
        load_bundle(bundle_copy)
    rewrite_metadata(bundle_copy, networks={"int8": {"file": "missing.onnx"}})
    with pytest.raises(ModelError, match=r"missing\.onnx: network file .* does not exist"):
        load_bundle(bundle_copy)
    rewrite_metadata(bundle_copy, networks={"int4": {"file": "model.int8.onnx"}})
    with pytest.raises(ModelError, match="networks.int4 must be one of"):
        load_bundle(bundle_copy)
    rewrite_metadata(bundle_copy, networks={"int8": {"file": "model.int8.onnx"}})
    assert load_bundle(bundle_copy).with_precision("int8").network_path.name == "model.int8.onnx"
