"""The image kind on tiny CNNs from a config (tests/tiny_tasks.py), the idx reader, static int8's calibration
data, channel pruning, and device budgets as a recommend constraint."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import tiny_tasks as tiny
import torch

from engine.devices import DEVICES, fits, misfit
from engine.recommend import ConstraintError, Constraints, recommend
from engine.tasks import load_model
from engine.techniques import TechniqueContext, compress
from engine.trial import TrialSpec, run_trial

QUIET = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one thread, as on a device


def test_idx_files_are_read_as_written(tmp_path):
    from engine.datasets.images import _fashion

    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2, 28, 28))
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.tobytes())
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes([7, 3]))
    data = _fashion("t10k", str(tmp_path))
    assert np.array_equal(data.images, images) and data.labels == (7, 3)


def test_a_missing_dataset_names_the_install(tmp_path):
    from engine.datasets.images import _fashion
    from engine.registry import NotInstalledError

    with pytest.raises(NotInstalledError, match="dataset-fashion-mnist"):
        _fashion("train", str(tmp_path / "absent"))


def test_cnn_configs_are_registry_data_with_the_stated_sizes():
    from engine.models.vision.cnn import CnnConfig, SmallCnn
    from engine.registry import MODELS

    for model_id in ("cnn-xs", "cnn-s", "cnn-m"):
        spec = MODELS[model_id]
        count = sum(p.numel() for p in SmallCnn(CnnConfig.parse(spec.weights.path)).parameters())
        assert abs(count / 1e6 - spec.params_m) / spec.params_m < 0.05, (model_id, count)
    with pytest.raises(ValueError, match="channels=8,16,32"):
        CnnConfig.parse("widths=8")


@QUIET
def test_a_cnn_is_trained_once_then_read_from_its_checksummed_cache(tiny_tasks):
    first = load_model("tiny-photos", "tiny-cnn-s")
    again = load_model("tiny-photos", "tiny-cnn-s")
    assert first.info["trained"] == "now" and again.info["trained"].startswith("cached")
    assert first.info["upfront_energy_wh"] > 0 and again.info["upfront_energy_wh"] == first.info["upfront_energy_wh"]
    images = tiny_tasks_images()
    assert np.allclose(first.outputs(images), again.outputs(images))


def tiny_tasks_images() -> list[np.ndarray]:
    return tiny.image_test().texts[:8]


@QUIET
def test_a_trial_records_per_class_accuracy_samples_the_footprint_and_the_training(tiny_tasks):
    record = run_trial(TrialSpec("tiny-photos", "tiny-cnn-l", "fp32", eval_size=40, region="FRA",
                                 test_set="tiny-test"))
    assert record.status == "ok", record.error
    extras = record.quality_extras
    assert set(extras["accuracy_per_class"]) <= set(tiny.SHAPES)
    assert len(extras["samples"]["predicted"]) == 16 and len(extras["samples"]["test_index"]) == 16
    assert record.details["footprint"]["weights_bytes"] > 0 and record.details["footprint"]["peak_activation_bytes"] > 0
    assert record.upfront_energy_wh == pytest.approx(record.details["train"]["upfront_energy_wh"])


@QUIET
def test_static_int8_calibrates_on_training_images_never_test_ones(tiny_tasks, monkeypatch):
    base = load_model("tiny-photos", "tiny-cnn-l")
    images = tiny_tasks_images()
    monkeypatch.setattr(tiny, "image_test", lambda seed=0: pytest.fail("calibration read the test set"))
    ctx = TechniqueContext(task="tiny-photos")
    variant = compress(base, "onnx-int8-static", ctx)
    assert "training images" in ctx.details["onnx-int8-static"]["calibration"]
    assert ctx.details["onnx-int8-static"]["ops"].get("QuantizeLinear", 0) > 0
    reference, quantized = base.outputs(images), variant.outputs(images)
    assert np.mean(reference.argmax(-1) == quantized.argmax(-1)) >= 0.75
    assert variant.footprint()["peak_activation_bytes"] * 4 == base.footprint()["peak_activation_bytes"]


@QUIET
def test_dynamic_int8_runs_convolutions_as_conv_integer(tiny_tasks):
    ctx = TechniqueContext(task="tiny-photos")
    compress(load_model("tiny-photos", "tiny-cnn-l"), "onnx-int8", ctx)
    assert ctx.details["onnx-int8"]["ops"].get("ConvInteger", 0) == 3  # no fast kernel: why it backfires


@QUIET
def test_channel_pruning_removes_filters_and_keeps_the_shape(tiny_tasks):
    base = load_model("tiny-photos", "tiny-cnn-l")
    ctx = TechniqueContext(task="tiny-photos")
    variant = compress(base, "prune-structured:keep=0.5", ctx)
    assert [c.out_channels for c in variant.module.convs] == [2, 4, 4]
    assert variant.num_parameters() < base.num_parameters()
    assert variant.outputs(tiny_tasks_images()).shape == (8, 3)


def _sized(records, model: str, weights_kb: float, activations_kb: float):
    return records(model, "fp32", task="product-photos",
                   details={"footprint": {"weights_bytes": weights_kb * 1024,
                                          "peak_activation_bytes": activations_kb * 1024}})


def test_device_budgets_decide_what_fits(records):
    mcu, phone = DEVICES["microcontroller"], DEVICES["phone"]
    small, big = _sized(records, "cnn-xs", 40, 100), _sized(records, "efficientnet-lite0", 18_000, 900)
    assert fits(small, mcu) and not fits(big, mcu) and fits(big, phone)
    assert "2.0 MB of model storage" in misfit(big, mcu)[0]
    assert "640 KB" in misfit(_sized(records, "cnn-m", 1000, 700), mcu)[0]  # weights in flash, activations in SRAM
    assert not fits(records("minilm-l6", "fp32"), phone)  # nothing measured: never fits


def test_fits_the_device_is_a_recommend_constraint(records):
    small = _sized(records, "cnn-xs", 40, 100)
    big = _sized(records, "efficientnet-lite0", 18_000, 900)
    big.energy_wh_per_1k, small.energy_wh_per_1k = 0.001, 0.002  # the leaner one does not fit
    assert recommend([small, big], Constraints()).recommended is big
    chosen = recommend([small, big], Constraints(device="microcontroller"))
    assert chosen.recommended is small
    none = recommend([big], Constraints(device="microcontroller"))
    assert none.recommended is None and none.binding_constraint == "device"
    with pytest.raises(ConstraintError, match="microcontroller"):
        Constraints(device="toaster").validated()


@pytest.mark.slow
@QUIET
def test_cnn_xs_on_real_fashion_mnist(tmp_path, monkeypatch):
    """End to end on the Debian data: cnn-xs trains once (about 30 s on one thread) and beats 80%."""
    record = run_trial(TrialSpec("product-photos", "cnn-xs", "onnx-int8-static", eval_size=500, region="USA",
                                 test_set="fashion-test"))
    assert record.status == "ok", record.error
    assert record.quality > 0.8 and record.details["train"]["upfront_energy_wh"] > 0
    assert len(record.quality_extras["accuracy_per_class"]) == 10


@QUIET
@pytest.mark.parametrize("spec", ["ov-fp32", "ov-int8"])
def test_openvino_runs_image_models_calibrated_on_training_images(tiny_tasks, monkeypatch, spec):
    base = load_model("tiny-photos", "tiny-cnn-l")
    images = tiny_tasks_images()
    reference = base.outputs(images)
    monkeypatch.setattr(tiny, "image_test", lambda seed=0: pytest.fail("calibration read the test set"))
    ctx = TechniqueContext(task="tiny-photos")
    variant = compress(base, spec, ctx)
    facts = ctx.details[spec]
    assert facts["threads"] == 1 and facts["precision_applied"] == "f32"
    answers = variant.outputs(images)
    assert answers.shape == reference.shape
    if spec == "ov-fp32":
        assert np.allclose(answers, reference, atol=1e-4)
    else:
        assert "training images" in facts["calibration"] and facts["fake_quantize_nodes"] > 0
        assert np.mean(reference.argmax(-1) == answers.argmax(-1)) >= 0.75
    with pytest.raises(ValueError, match="OpenVINO"):
        variant.with_module(base.module)


class _TinyBackbone(torch.nn.Module):
    """Stands in for EfficientNet-Lite: `extract_features` like efficientnet_lite_pytorch's, with BatchNorm."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.norm = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4)

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self.conv(x)))


@QUIET
def test_finetune_trains_a_pretrained_backbone_end_to_end_at_a_lower_rate(tiny_tasks):
    from engine.models.vision.image_model import ImageModel
    from engine.models.vision.pretrained import PretrainedClassifier
    from engine.techniques import vision

    torch.manual_seed(0)
    module = PretrainedClassifier(_TinyBackbone(), torch.nn.Linear(4, 3), px=16).eval()
    base = ImageModel("tiny-pretrained", "cnn", module)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    ctx = TechniqueContext(task="tiny-photos")
    variant = vision.finetune(base, ctx, epochs=1)
    facts = ctx.details["finetune"]
    assert facts["backbone"] == "trained end to end" and facts["learning_rate"] == vision.PRETRAINED_FINETUNE_LR
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())  # the given model is untouched
    changed = variant.module.state_dict()
    assert not torch.equal(changed["backbone.conv.weight"], before["backbone.conv.weight"])
    assert not torch.equal(changed["backbone.norm.running_mean"], before["backbone.norm.running_mean"])
    assert variant.outputs(tiny_tasks_images()).shape == (8, 3)
