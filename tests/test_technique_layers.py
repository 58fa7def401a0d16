"""Layer dropping on tiny BERT and MPNet models built from a config."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import torch
from transformers import BertConfig, BertModel, MPNetConfig, MPNetModel

from engine.models.text_model import PooledEncoder, TextModel
from engine.techniques import TechniqueContext, compress
from engine.techniques.architectures import all_parts
from engine.techniques.layers import kept_layers

LAYERS, HIDDEN = 4, 32


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from a second thread, and on a busy shared machine it only spins."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=["bert", "mpnet"])
def tiny(request: pytest.FixtureRequest) -> TextModel:
    torch.manual_seed(0)
    sizes = dict(vocab_size=100, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=4,
                 intermediate_size=64, max_position_embeddings=64)
    config = MPNetConfig(**sizes) if request.param == "mpnet" else BertConfig(**sizes)
    model_class = MPNetModel if request.param == "mpnet" else BertModel
    module = PooledEncoder(model_class(config, add_pooling_layer=False), torch.nn.Linear(HIDDEN, 2)).eval()
    return TextModel(f"tiny-{request.param}", "encoder", module, tokenizer=None)


def logits(classifier: TextModel) -> torch.Tensor:
    torch.manual_seed(1)
    ids = torch.randint(5, 100, (3, 9))
    mask = torch.tensor([[1] * 9, [1] * 5 + [0] * 4, [1] * 2 + [0] * 7])
    with torch.inference_mode():
        return classifier.module(ids, mask)


def layer_weights(classifier: TextModel) -> list[dict[str, torch.Tensor]]:
    return [layer.state_dict() for layer in classifier.module.encoder.encoder.layer]


@pytest.mark.parametrize(("layers", "keep", "expected"), [
    (6, 3, [1, 3, 5]), (12, 6, [1, 3, 5, 7, 9, 11]), (3, 2, [0, 2]), (6, 1, [5]), (4, 4, [0, 1, 2, 3]),
    (12, 5, [1, 3, 6, 8, 11]), (6, 4, [0, 2, 3, 5]),
])
def test_kept_layers_are_evenly_spaced_and_end_with_the_last(layers, keep, expected):
    assert kept_layers(layers, keep) == expected


@pytest.mark.parametrize("keep", [1, 2, 3])
def test_layer_drop_keeps_the_chosen_layers_weights(tiny, keep):
    before = copy.deepcopy(layer_weights(tiny))
    ctx = TechniqueContext(task="sentiment")
    dropped = compress(tiny, f"layer-drop:keep={keep}", ctx)
    indices = kept_layers(LAYERS, keep)
    assert ctx.details["layer-drop"]["kept_layers"] == indices
    assert dropped.module.encoder.config.num_hidden_layers == keep
    after = layer_weights(dropped)
    assert len(after) == keep
    for new, old in enumerate(indices):
        assert after[new].keys() == before[old].keys()
        assert all(torch.equal(after[new][k], before[old][k]) for k in after[new])
    assert logits(dropped).shape == (3, 2)
    assert ctx.details["layer-drop"]["params_after"] < ctx.details["layer-drop"]["params_before"]
    # The original keeps all its layers, weights and config.
    assert tiny.module.encoder.config.num_hidden_layers == LAYERS
    assert all(torch.equal(a[k], b[k]) for a, b in zip(layer_weights(tiny), before, strict=True) for k in a)


def test_kept_layers_compute_what_they_computed_in_the_original(tiny):
    """Running the dropped model equals running the original with the dropped layers skipped."""
    dropped = compress(tiny, "layer-drop:keep=2", TechniqueContext(task="sentiment"))
    reference = copy.deepcopy(tiny.module)
    skipped = [i for i in range(LAYERS) if i not in kept_layers(LAYERS, 2)]
    for i in skipped:  # a layer that returns its input unchanged (hooks see positional args only)
        reference.encoder.encoder.layer[i].forward = lambda hidden, *args, **kwargs: (
            hidden if isinstance(reference.encoder, BertModel) else (hidden,))
    assert torch.allclose(logits(dropped), logits(tiny.with_module(reference)), atol=1e-6)


def test_keeping_every_layer_is_the_identity(tiny):
    same = compress(tiny, f"layer-drop:keep={LAYERS}", TechniqueContext(task="sentiment"))
    assert same.module is not tiny.module
    assert torch.equal(logits(same), logits(tiny))


@pytest.mark.parametrize("keep", [0, LAYERS + 1])
def test_keep_out_of_range_names_this_models_range(tiny, keep):
    from engine.techniques.layers import layer_drop

    with pytest.raises(ValueError, match=f"which has {LAYERS} layers: use 1 <= keep <= {LAYERS}"):
        layer_drop(tiny, TechniqueContext(task="sentiment"), keep=keep)


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_later_steps_work_on_the_result(tiny):
    pipeline = "layer-drop:keep=2+prune-structured:keep=0.5+int8-dynamic"
    ctx = TechniqueContext(task="sentiment")
    result = compress(tiny, pipeline, ctx)
    assert ctx.details["layer-drop"]["kept_layers"] == [1, 3]
    assert ctx.details["prune-structured"]["heads_after"] == 4
    assert len(result.module.encoder.encoder.layer) == 2 and logits(result).shape == (3, 2)
    assert all(p.num_heads >= 1 for p in all_parts(compress(tiny, "layer-drop:keep=1",
                                                           TechniqueContext(task="sentiment")).module.encoder))
