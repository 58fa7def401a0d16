"""A tiny causal language model built from a config (a 2-layer Llama, random weights, a word-level vocabulary
with a chat template): the dummy LLM that lets tests run prompting, calibration, few-shot prompts, generation
metrics and teacher labelling in milliseconds. Never on a shipped ladder; tests register it."""

from __future__ import annotations

from typing import Any

import torch

from engine.models.tiny import WORDS
from engine.registry import ModelSpec

SPECIALS = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
CHAT_WORDS = ("system user assistant you are helpful answer with one word text review message question "
              "positive negative yes no place or : . ? , !").split()
# The template every chat model here follows (ChatML), written for the word-level vocabulary.
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}")


def tiny_tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = list(dict.fromkeys([*SPECIALS, *WORDS, *CHAT_WORDS]))
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>",
                                        bos_token="<|im_start|>", eos_token="<|im_end|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_causal_lm(model: ModelSpec, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    """A Llama of `model.layers` layers (hidden 32, 2 heads), seeded by the model id: each load is the same."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_tokenizer()
    torch.manual_seed(sum(map(ord, model.id)))
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=model.layers or 2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=1024, tie_word_embeddings=True,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    return LlamaForCausalLM(config).to(dtype).eval()
