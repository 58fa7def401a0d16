import pytest
import torch

from engine.registry import ChoiceError
from engine.techniques import HANDLERS, compress, parse_spec


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)).eval()


@pytest.mark.parametrize("technique", sorted(HANDLERS))
def test_technique_preserves_outputs_and_leaves_the_original_untouched(technique):
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(8, 16)
    with torch.inference_mode():
        reference = model(x)
        compressed = compress(model, technique)
        out = compressed(x.to(next(compressed.parameters(), x).dtype) if technique == "bf16" else x)
    assert out.shape == reference.shape
    assert torch.allclose(out.float(), reference, atol=0.05)  # 8-bit / bf16 rounding, not a different model
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_int8_dynamic_replaces_linear_layers():
    compressed = compress(tiny_model(), "int8-dynamic")
    kinds = {type(m).__module__ for m in compressed.modules()}
    assert any("quantized" in k for k in kinds)


def test_bf16_casts_weights():
    assert next(compress(tiny_model(), "bf16").parameters()).dtype == torch.bfloat16


def test_spec_parsing():
    assert [s.name for s in parse_spec("int8-dynamic")] == ["int8-dynamic"]
    assert parse_spec("fp32+bf16")[1].name == "bf16"
    with pytest.raises(ChoiceError, match="Did you mean 'int8-dynamic'"):
        parse_spec("int8-dynamc")
    with pytest.raises(ValueError, match="name:key=value"):
        parse_spec("bf16:fast")
