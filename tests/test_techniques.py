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


def test_int8_dynamic_shrinks_a_tiny_encoder_vocabulary_included():
    import io

    from transformers import BertConfig, BertModel

    from engine.models.classifier import EncoderClassifier, count_parameters

    config = BertConfig(vocab_size=1200, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    model = EncoderClassifier(BertModel(config, add_pooling_layer=False), torch.nn.Linear(32, 2)).eval()
    compressed = compress(model, "int8-dynamic")

    def size(m):
        buffer = io.BytesIO()
        torch.save(m.state_dict(), buffer)
        return buffer.tell()

    ids, mask = torch.randint(0, 1200, (4, 10)), torch.ones(4, 10, dtype=torch.long)
    with torch.inference_mode():
        assert torch.allclose(compressed(ids, mask), model(ids, mask), atol=0.05)
    assert type(compressed.encoder.embeddings.word_embeddings).__name__ == "Embedding"
    assert "quantized" in type(compressed.encoder.embeddings.word_embeddings).__module__
    assert count_parameters(compressed) == count_parameters(model)
    assert size(compressed) < size(model) / 2  # per-row scales weigh more in a tiny model than in a real one
