"""A tiny encoder built from a config, with random weights and a 40-word vocabulary: the dummy model that
lets tests run a whole trial of every task kind in milliseconds (lm-eval-harness keeps one for the same
reason). It is never on a shipped ladder; tests register it (see tests/tiny_tasks.py)."""

from __future__ import annotations

from typing import Any

import torch

from engine.registry import ModelSpec

WORDS = ("good great fun superb lovely bad awful dull boring poor the a movie plot film was is it and of "
         "who where when what how many city person number name why place spam free win prize call now "
         "meeting lunch tomorrow").split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def load_tiny(model: ModelSpec) -> tuple[torch.nn.Module, Any]:
    """(model, tokenizer): a BERT of `model.layers` layers (hidden 32, 2 heads), seeded by the model id, so each
    load gives the same model."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(sum(map(ord, model.id)))
    vocab = {w: i for i, w in enumerate(SPECIALS + list(WORDS))}
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=model.layers or 2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    return BertModel(config, add_pooling_layer=False).eval(), BertTokenizerFast(vocab=vocab)
