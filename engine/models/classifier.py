"""The thing a trial measures: a tokenizer plus a torch module that maps token ids to class logits."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import torch

from engine.models.batching import MAX_LENGTH_TOKENS, length_sorted_batches, mean_pool
from engine.registry import get_model, get_task, require_installed, resolve

Progress = Callable[[float, str], None]


class EncoderClassifier(torch.nn.Module):
    """encoder -> mean pooling over the attention mask -> linear head (2 logits)."""

    def __init__(self, encoder: torch.nn.Module, head: torch.nn.Linear) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(mean_pool(hidden, attention_mask))


def count_parameters(module: torch.nn.Module) -> int:
    """Trainable-size count that survives compression: dynamically quantized Linear layers keep their weights
    in packed int8 (not parameters), so they count as their weight + bias elements, the number they had
    before quantizing. bf16 casts and physical pruning change numel and so show up; masks do not count."""
    from torch.ao.nn.quantized import Embedding as QuantizedEmbedding
    from torch.ao.nn.quantized import Linear as QuantizedLinear  # the dynamic one subclasses it

    total = sum(p.numel() for p in module.parameters())
    for sub in module.modules():
        if isinstance(sub, QuantizedLinear):
            bias = sub.bias()
            total += sub.weight().numel() + (bias.numel() if bias is not None else 0)
        elif isinstance(sub, QuantizedEmbedding):
            total += sub.weight().numel()
    return total


class TextClassifier:
    """What a trial measures: tokenizer + a module. Techniques swap in a transformed copy of `module`."""

    def __init__(
        self,
        name: str,
        family: str,
        module: torch.nn.Module | None,
        tokenizer: Any,
        info: dict[str, Any] | None = None,
        max_length: int = MAX_LENGTH_TOKENS,
    ) -> None:
        self.name = name
        self.family = family  # "encoder" | "rule-based"
        self.module = module
        self.tokenizer = tokenizer
        self.info = dict(info or {})  # how the head was trained (C, validation accuracy, ...)
        self.max_length = max_length

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[int]:
        """Class per text (0 negative, 1 positive), in the order given."""
        if self.module is None:
            raise ValueError(f"{self.name} has no module to run")
        labels = [0] * len(texts)
        with torch.inference_mode():
            for indices, input_ids, mask in length_sorted_batches(
                self.tokenizer, texts, batch_size, self.max_length
            ):
                predicted = self.module(input_ids, mask).argmax(dim=-1).tolist()
                for i, label in zip(indices, predicted, strict=True):
                    labels[i] = label
        return labels

    def with_module(self, module: torch.nn.Module) -> TextClassifier:
        """The same classifier running another (e.g. quantized) module; the tokenizer is shared."""
        return TextClassifier(self.name, self.family, module, self.tokenizer, self.info, self.max_length)

    def num_parameters(self) -> int:
        return count_parameters(self.module) if self.module is not None else 0

    def size_bytes(self) -> int:
        """Bytes of the serialized state dict (int8 weights packed): what would ship. Measured in memory only."""
        if self.module is None:
            return 0
        buffer = io.BytesIO()
        torch.save(self.module.state_dict(), buffer)
        return buffer.tell()


def load_classifier(task_id: str, model_id: str, progress: Progress | None = None) -> TextClassifier:
    """A ready classifier for the task: the encoder plus its task head (trained once, then cached)."""
    from engine.models.heads import load_or_train_head

    report = progress or (lambda fraction, message: None)
    task = get_task(task_id)
    model = get_model(model_id, task)
    require_installed(model)
    loader = resolve(model.loader)
    if model.family == "rule-based":
        return loader()
    report(0.0, f"Loading {model.id}")
    encoder = loader(model.hub_id) if model.loader.endswith(":load_pretrained") else loader()
    head, info = load_or_train_head(task.id, model.id, encoder, progress)
    module = EncoderClassifier(encoder.model, head).eval()
    report(1.0, f"{model.id} ready")
    return TextClassifier(model.id, "encoder", module, encoder.tokenizer, info)
