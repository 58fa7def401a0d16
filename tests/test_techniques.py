"""The technique framework and the precision techniques, on tiny models built from a config."""

import io

import pytest
import torch
from transformers import BertConfig, BertModel

from engine.models.text_model import PooledEncoder, TextModel, count_parameters
from engine.registry import TECHNIQUES, ChoiceError, resolve
from engine.techniques import TechniqueContext, canonical, compress, parse_spec

PRECISION = ["fp32", "int8-dynamic", "bf16"]


@pytest.fixture
def tiny() -> TextModel:
    config = BertConfig(vocab_size=1200, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    module = PooledEncoder(BertModel(config, add_pooling_layer=False), torch.nn.Linear(32, 2)).eval()
    return TextModel("tiny", "encoder", module, tokenizer=None)


def logits(classifier: TextModel) -> torch.Tensor:
    torch.manual_seed(1)
    ids, mask = torch.randint(0, 1200, (4, 10)), torch.ones(4, 10, dtype=torch.long)
    with torch.inference_mode():
        return classifier.module(ids, mask).float()


@pytest.mark.parametrize("technique", PRECISION)
def test_precision_keeps_outputs_and_never_touches_the_original(tiny, technique):
    before = {k: v.clone() for k, v in tiny.module.state_dict().items()}
    reference = logits(tiny)
    compressed = compress(tiny, technique, TechniqueContext(task="sentiment"))
    assert torch.allclose(logits(compressed), reference, atol=0.05)  # 8-bit / bf16 rounding, not another model
    assert all(torch.equal(before[k], v) for k, v in tiny.module.state_dict().items())
    assert count_parameters(compressed.module) == count_parameters(tiny.module)


def test_int8_dynamic_quantizes_linear_layers_and_the_vocabulary(tiny):
    compressed = compress(tiny, "int8-dynamic", TechniqueContext(task="sentiment"))
    assert "quantized" in type(compressed.module.encoder.embeddings.word_embeddings).__module__
    assert "quantized" in type(compressed.module.head).__module__
    assert compressed.size_bytes() < tiny.size_bytes() / 2  # per-row scales weigh more in a tiny model


def test_bf16_casts_weights(tiny):
    compressed = compress(tiny, "bf16", TechniqueContext(task="sentiment"))
    assert next(compressed.module.parameters()).dtype == torch.bfloat16


def test_size_bytes_is_the_serialized_state_dict(tiny):
    buffer = io.BytesIO()
    torch.save(tiny.module.state_dict(), buffer)
    assert tiny.size_bytes() == buffer.tell()


def test_pipeline_steps_run_in_order_and_report_progress(tiny):
    messages = []
    ctx = TechniqueContext(task="sentiment", progress=lambda f, m: messages.append((f, m)))
    compressed = compress(tiny, "fp32+int8-dynamic", ctx)
    assert "quantized" in type(compressed.module.head).__module__
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 0.5  # step 2 of 2 starts halfway


def test_spec_strings_parse_with_defaults_filled_in():
    assert canonical("int8-dynamic") == "int8-dynamic"
    assert canonical("prune-structured") == "prune-structured:keep=0.5"
    assert canonical("layer-drop:keep=3+distill+onnx-int8") == \
        "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8"
    (step,) = parse_spec("prune-unstructured:sparsity=0.7")
    assert step.params == {"sparsity": 0.7}
    # an optional parameter is written out only when it is not its default
    assert canonical("distill:transfer=0") == "distill:teacher=mpnet-base,epochs=2"
    assert canonical("distill:transfer=4000") == "distill:teacher=mpnet-base,epochs=2,transfer=4000"
    assert parse_spec("distill")[0].params["transfer"] == 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("int8-dynamc", "Did you mean 'int8-dynamic'"),
        ("prune-unstructured:sparsity=1.5", "out of range: 0 <= sparsity < 1. Use prune-unstructured:sparsity=0.5"),
        ("prune-structured:keep=0", "out of range: 0 < keep <= 1"),
        ("layer-drop:keep=0", "out of range: 1 <= keep"),
        ("layer-drop:keep=two", "not an integer"),
        ("distill:teacher=gpt-9", "Unknown model 'gpt-9'"),
        ("bf16:fast=1", "takes no parameters"),
        ("onnx-int8+int8-dynamic", "must be the last step"),
        ("", "Empty technique"),
    ],
)
def test_bad_specs_name_the_valid_form(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)
    assert issubclass(ChoiceError, ValueError)


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_every_registered_handler_exists(technique):
    assert callable(resolve(TECHNIQUES[technique].handler))


def test_a_list_of_specs_splits_where_parameters_also_use_commas():
    from engine.techniques.spec import split_techniques

    assert split_techniques("fp32,distill:teacher=mpnet-base,epochs=1,int8-dynamic") == (
        "fp32", "distill:teacher=mpnet-base,epochs=1", "int8-dynamic")
    assert split_techniques("layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8,bf16") == (
        "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8", "bf16")


@pytest.mark.parametrize(("spec", "message"), [
    ("int8-dynamic+prune-structured", "prune-structured cannot follow int8-dynamic.*put prune-structured first"),
    ("bf16+int8-dynamic", "int8-dynamic cannot follow bf16.*one precision step"),
    ("bf16+onnx-int8", "onnx-int8 cannot follow bf16.*drop bf16"),
    ("int8-dynamic+distill", "distill cannot follow int8-dynamic"),
])
def test_a_pipeline_that_can_only_fail_is_refused_with_the_fix(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(spec)


def test_pipelines_that_can_work_are_accepted():
    for spec in ("prune-structured:keep=0.5+int8-dynamic", "int8-dynamic+layer-drop:keep=2",
                 "layer-drop:keep=3+distill+onnx-int8"):
        assert parse_spec(spec)
