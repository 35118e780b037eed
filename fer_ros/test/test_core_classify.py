"""Classifier backends: any label count / input size / channel count with no code change,
one batch per frame (chunked by max_batch), typed errors, and the ``auto`` choice logged.

The tiny random networks here test interfaces only; accuracy is tested on the trained
default bundle in test_core_pipeline.py.
"""
import logging
import time

import numpy as np
import pytest

from fer_ros.core.backend import ClassifierBackend
from fer_ros.core.bundle import load_bundle
from fer_ros.core.classify import OnnxRuntimeBackend, UpgradingBackend, select_backend
from fer_ros.core.config import ClassifierConfig
from fer_ros.core.errors import ConfigError, InputError, ModelError

from core_helpers import make_test_bundle

FERPLUS = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
           "contempt"]
SIX = ["anger", "disgust", "fear", "happiness", "sadness", "surprise"]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    pytest.importorskip("torch", reason="building test bundles needs torch")
    root = tmp_path_factory.mktemp("bundles")
    return {
        "six_gray": make_test_bundle(root / "six", SIX, size=40, channels=1),
        "eight_rgb_logits": make_test_bundle(root / "eight", FERPLUS, size=48, channels=3,
                                             softmax=False),
    }


def random_batch(n, channels, size, seed=0):
    return np.random.default_rng(seed).standard_normal((n, channels, size, size)).astype(
        np.float32)


@pytest.mark.parametrize("name, classes, channels, size", [
    ("six_gray", 6, 1, 40), ("eight_rgb_logits", 8, 3, 48)])
def test_any_label_count_and_input_runs_unchanged(bundles, name, classes, channels, size):
    backend = OnnxRuntimeBackend(load_bundle(bundles[name]), threads=1)
    assert isinstance(backend, ClassifierBackend) and backend.name == "onnxruntime-cpu"
    probs = backend.infer(random_batch(5, channels, size))
    assert probs.shape == (5, classes) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)  # softmax applied when missing
    assert (probs >= 0).all()


def test_chunking_by_max_batch_gives_the_same_probabilities(bundles):
    bundle = load_bundle(bundles["six_gray"])
    batch = random_batch(11, 1, 40, seed=1)
    whole = OnnxRuntimeBackend(bundle, max_batch=32).infer(batch)
    chunked = OnnxRuntimeBackend(bundle, max_batch=3).infer(batch)
    np.testing.assert_allclose(whole, chunked, rtol=1e-5, atol=1e-6)


def test_zero_faces_give_an_empty_result(bundles):
    backend = OnnxRuntimeBackend(load_bundle(bundles["six_gray"]))
    assert backend.infer(np.zeros((0, 1, 40, 40), np.float32)).shape == (0, 6)


@pytest.mark.parametrize("batch, message", [
    (np.zeros((2, 1, 40, 40), np.float64), "float32"),
    (np.zeros((2, 3, 40, 40), np.float32), r"shape \(N, 1, 40, 40\)"),
    (np.zeros((1, 40, 40), np.float32), r"shape \(N, 1, 40, 40\)"),
    ([[0.0]], "numpy array"),
])
def test_bad_batches_raise_input_error(bundles, batch, message):
    backend = OnnxRuntimeBackend(load_bundle(bundles["six_gray"]))
    with pytest.raises(InputError, match=message):
        backend.infer(batch)


def test_auto_selects_and_logs_why(bundles, caplog):
    bundle = load_bundle(bundles["six_gray"])
    with caplog.at_level(logging.INFO, logger="fer_ros.core.classify"):
        backend = select_backend(ClassifierConfig(backend="auto"), bundle)
    assert backend.name.startswith(("onnxruntime", "tensorrt"))
    chosen = [r.getMessage() for r in caplog.records if "classifier backend" in r.getMessage()]
    assert chosen and "auto" in chosen[-1], caplog.text
    if backend.name == "onnxruntime-cpu":  # the reason why nothing faster was taken
        assert "TensorRT" in chosen[-1] or "tensorrt" in chosen[-1]
    # this test bundle has no INT8 network: fp32, and the way to get one is named
    assert "fp32 network" in chosen[-1] and "fer-ros quantize" in chosen[-1], chosen[-1]


def test_auto_with_device_cpu_takes_onnxruntime_cpu(bundles, caplog):
    with caplog.at_level(logging.INFO, logger="fer_ros.core.classify"):
        backend = select_backend(ClassifierConfig(device="cpu"), load_bundle(bundles["six_gray"]))
    assert backend.name == "onnxruntime-cpu" and "device is cpu" in caplog.text


def test_tensorrt_requested_where_unavailable_says_why(bundles):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here; this test covers machines without it")
    except ImportError:
        pass
    with pytest.raises(ModelError, match="backend tensorrt requested but unavailable"):
        select_backend(ClassifierConfig(backend="tensorrt"), load_bundle(bundles["six_gray"]))


def test_cuda_requested_without_cuda_provider(bundles):
    import onnxruntime as ort
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime has CUDA here")
    with pytest.raises(ModelError, match="CUDAExecutionProvider"):
        OnnxRuntimeBackend(load_bundle(bundles["six_gray"]), device="cuda")


def test_invalid_classifier_settings_are_config_errors():
    with pytest.raises(ConfigError, match="backend must be one of"):
        ClassifierConfig(backend="openvino")
    with pytest.raises(ConfigError, match="threads"):
        ClassifierConfig(threads=0)


def test_torch_backend_matches_onnxruntime_on_the_same_weights(tmp_path):
    """A training-format checkpoint through TorchBackend == its ONNX export through ORT."""
    torch = pytest.importorskip("torch")
    from fer_ros.core.preprocess import InputSpec
    from fer_ros.training.export import export_onnx
    from fer_ros.training.models import create_model
    from fer_ros.training.torch_backend import TorchBackend

    torch.manual_seed(0)
    model = create_model("resnet18", len(SIX), channels=1).eval()
    checkpoint = tmp_path / "best.pt"
    torch.save({"model": model.state_dict(), "labels": SIX,
                "config": {"arch": "resnet18", "channels": 1, "stem": "standard",
                           "head": "linear", "dropout": 0.0}}, checkpoint)
    bundle_dir = make_test_bundle(tmp_path / "bundle", SIX, size=40)
    export_onnx(model, InputSpec(size=40, channels=1), bundle_dir / "model.onnx")
    bundle = load_bundle(bundle_dir, verify_sha256=False)
    batch = random_batch(4, 1, 40, seed=2)
    by_torch = TorchBackend(bundle, checkpoint, threads=1).infer(batch)
    # the core reaches the plugin by its configured name, without importing training itself
    configured = select_backend(ClassifierConfig(backend="torch", checkpoint=str(checkpoint),
                                                 threads=1), bundle)
    assert configured.name == "torch-cpu"
    np.testing.assert_allclose(configured.infer(batch), by_torch, atol=1e-6)
    by_ort = OnnxRuntimeBackend(bundle, threads=1).infer(batch)
    np.testing.assert_allclose(by_torch, by_ort, atol=1e-4)
    wrong = load_bundle(make_test_bundle(tmp_path / "other", FERPLUS, size=40))
    with pytest.raises(ModelError, match="labels .* differ"):
        TorchBackend(wrong, checkpoint)
    with pytest.raises(ModelError, match="does not exist"):
        TorchBackend(bundle, tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="corrupt or not a fer_ros training checkpoint"):
        TorchBackend(bundle, corrupt)


class FakeTensorRT:
    """Stands in for fer_ros.core.tensorrt_backend: TensorRT cannot be installed here, and
    what is tested is select_backend's order, fallbacks and background swap, not TensorRT."""

    def __init__(self, available=True, fails=None, num_classes=6):
        self.available, self.fails, self.num_classes, self.built = available, fails, \
            num_classes, []
        outer = self

        class TensorRTBackend(ClassifierBackend):
            name = "tensorrt-fp16"

            def __init__(self, onnx_path, max_batch=16, precision="fp16", cache_dir=None):
                if outer.fails is not None:
                    raise outer.fails
                outer.built.append((onnx_path, max_batch, precision))
                self.num_classes = outer.num_classes

            def infer(self, batch):  # logits-like rows that do not sum to 1
                return np.tile(np.arange(outer.num_classes, dtype=np.float32), (len(batch), 1))

        self.TensorRTBackend = TensorRTBackend

    def tensorrt_available(self):
        return (True, "10.0") if self.available else (False, "no CUDA GPU found")

    @staticmethod
    def network_for(bundle, precision):  # TensorRT 10: fp16 is built from the fp32 network
        return bundle.with_precision("int8" if precision == "int8" else "fp32"), precision


@pytest.fixture()
def fake_tensorrt(monkeypatch):
    def install(**kwargs):
        fake = FakeTensorRT(**kwargs)
        monkeypatch.setitem(__import__("sys").modules, "fer_ros.core.tensorrt_backend", fake)
        monkeypatch.setattr("fer_ros.core.classify._tensorrt_installed", lambda: True)
        return fake
    return install


def test_auto_serves_onnxruntime_then_swaps_in_tensorrt(bundles, fake_tensorrt, caplog):
    """The engine is built in the background: start-up is never blocked by it."""
    fake = fake_tensorrt()
    bundle = load_bundle(bundles["six_gray"])
    with caplog.at_level(logging.INFO, logger="fer_ros.core.classify"):
        backend = select_backend(ClassifierConfig(max_batch=8), bundle)
        assert isinstance(backend, UpgradingBackend)
        assert backend.wait(30), "background TensorRT build did not finish"
    assert backend.name == "tensorrt-fp16" and fake.built[0][1:] == (8, "fp16")
    assert "serving until TensorRT is ready" in caplog.text
    assert "GPU backend ready, replaces onnxruntime-cpu" in caplog.text
    assert backend.infer(random_batch(2, 1, 40)).argmax(1).tolist() == [5, 5]  # TensorRT's


@pytest.mark.parametrize("error", [RuntimeError("engine build failed: out of GPU memory"),
                                   AttributeError("module 'cuda' has no attribute 'cudart'"),
                                   TypeError("incompatible function arguments")])
def test_auto_keeps_onnxruntime_on_any_gpu_failure_and_logs_it(bundles, fake_tensorrt, caplog,
                                                               error):
    fake_tensorrt(fails=error)
    with caplog.at_level(logging.INFO, logger="fer_ros.core.classify"):
        backend = select_backend(ClassifierConfig(), load_bundle(bundles["six_gray"]))
        assert backend.wait(30)
    assert backend.name == "onnxruntime-cpu" and str(error) in caplog.text
    assert backend.infer(random_batch(1, 1, 40)).shape == (1, 6)
    fake_tensorrt(available=False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="fer_ros.core.classify"):
        backend = select_backend(ClassifierConfig(), load_bundle(bundles["six_gray"]))
        assert backend.wait(30)
    assert backend.name == "onnxruntime-cpu" and "no CUDA GPU found" in caplog.text


def test_tensorrt_engine_with_the_wrong_class_count_is_refused(bundles, fake_tensorrt):
    fake_tensorrt(num_classes=7)
    with pytest.raises(ModelError, match="7 outputs but the bundle has 6 labels"):
        select_backend(ClassifierConfig(backend="tensorrt"), load_bundle(bundles["six_gray"]))


def test_tensorrt_output_gets_a_softmax_when_the_bundle_has_none(bundles, fake_tensorrt):
    fake_tensorrt(num_classes=8)
    backend = select_backend(ClassifierConfig(backend="tensorrt"),
                             load_bundle(bundles["eight_rgb_logits"]))
    probs = backend.infer(random_batch(2, 3, 48))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert probs[0].argmax() == 7  # order kept


def test_auto_runs_the_int8_network_on_cpu_and_says_why(default_bundle, caplog):
    with caplog.at_level(logging.INFO, logger="fer_ros.core.classify"):
        backend = select_backend(ClassifierConfig(device="cpu"), default_bundle)
    assert backend.bundle.network_path.name == "model.int8.onnx"
    assert "int8 network" in caplog.text and "points below fp32" in caplog.text


@pytest.mark.parametrize("reduce_range, no_vnni, network", [
    (False, True, "model.onnx"),        # full-range weights would overflow: fp32, said why
    (False, False, "model.int8.onnx"),  # VNNI: no overflow
    (True, True, "model.int8.onnx"),    # 7-bit weights: safe everywhere
])
def test_auto_avoids_int8_that_overflows_on_this_cpu(default_bundle, monkeypatch, caplog,
                                                     reduce_range, no_vnni, network):
    import dataclasses

    from fer_ros.core import classify
    monkeypatch.setattr(classify, "x86_without_vnni", lambda: no_vnni)
    int8 = default_bundle.networks["int8"]
    info = {**int8.info, "quantization": {**int8.info.get("quantization", {}),
                                          "reduce_range": reduce_range}}
    networks = {**default_bundle.networks, "int8": dataclasses.replace(int8, info=info)}
    bundle = dataclasses.replace(default_bundle, networks=networks)
    with caplog.at_level(logging.INFO, logger="fer_ros.core.classify"):
        backend = select_backend(ClassifierConfig(device="cpu"), bundle)
    assert backend.bundle.network_path.name == network, caplog.text
    if network == "model.onnx":
        assert "without VNNI" in caplog.text and "fer-ros quantize" in caplog.text


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    from fer_ros.core.cpu_features import x86_without_vnni
    import platform
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the VNNI check applies to x86-64 only")
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor: 0\nflags\t\t: fpu sse avx avx2 fma\n")
    vnni = tmp_path / "vnni"
    vnni.write_text("flags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert x86_without_vnni.__wrapped__(str(avx2)) is True
    assert x86_without_vnni.__wrapped__(str(vnni)) is False
    assert x86_without_vnni.__wrapped__(str(tmp_path / "missing")) is False


@pytest.mark.parametrize("precision, network", [("fp32", "model.onnx"),
                                                ("int8", "model.int8.onnx")])
def test_precision_forces_a_network(default_bundle, precision, network):
    backend = select_backend(ClassifierConfig(device="cpu", precision=precision),
                             default_bundle)
    assert backend.bundle.network_path.name == network


def test_forcing_a_network_the_bundle_lacks_says_how_to_add_it(default_bundle):
    with pytest.raises(ModelError, match="has no fp16 network"):
        select_backend(ClassifierConfig(device="cpu", precision="fp16"), default_bundle)
    with pytest.raises(ConfigError, match="classifier.precision must be one of"):
        ClassifierConfig(precision="int4")


def test_int8_and_fp32_agree_on_real_faces(default_bundle, shared_dir):
    from fer_ros.core.fer2013 import FER2013_RELATIVE, sample_faces
    from fer_ros.core.preprocess import face_to_tensor
    faces, _ = sample_faces(shared_dir / FER2013_RELATIVE, "PublicTest", 64)
    x = np.stack([face_to_tensor(f, default_bundle.input_spec) for f in faces])
    p8 = OnnxRuntimeBackend(default_bundle.with_precision("int8"), threads=1).infer(x)
    p32 = OnnxRuntimeBackend(default_bundle.with_precision("fp32"), threads=1).infer(x)
    agreement = float((p8.argmax(1) == p32.argmax(1)).mean())
    assert agreement >= 0.9, f"int8 and fp32 agree on only {agreement:.0%} of 64 real faces"


def test_upgrading_backend_never_closes_a_backend_mid_inference(default_bundle):
    """A real slow build: the fp32 network replaces int8 while inferences run."""
    import threading
    serving = OnnxRuntimeBackend(default_bundle.with_precision("int8"), threads=1)
    closed = threading.Event()
    serving.close = closed.set  # record when the swap closes it

    def build():
        time.sleep(0.3)
        return OnnxRuntimeBackend(default_bundle.with_precision("fp32"), threads=1)

    backend = UpgradingBackend(serving, build)
    x = np.zeros((2, 1, 64, 64), np.float32)
    while not backend.wait(0):
        assert backend.infer(x).shape == (2, default_bundle.num_classes)
    assert closed.is_set() and backend.infer(x).shape == (2, default_bundle.num_classes)
    assert backend.failure is None
