"""8-bit weights only, per output channel, for causal LMs: each Linear keeps int8 weights and one scale per
row and multiplies in the activations' own dtype (fp32 or bf16) after dequantizing, so the numbers that flow
through the model are not quantized. That halves the weights against bf16 (a quarter against fp32) at little
cost in quality; on a CPU without int8 weight kernels it is slower, not faster (torch's _weight_int8pack_mm
measured 19x slower than a dense fp32 matmul at batch 64 here): smaller, not faster, and the trial shows it.
"""

from __future__ import annotations

import torch
from torch import nn

SKIP = ("lm_head",)  # the output layer shares its weights with the vocabulary table (tied): left as it is


class Int8WeightLinear(nn.Module):
    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.register_buffer("weight_int8", torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8))
        self.register_buffer("scale", scale.to(linear.weight.dtype))
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_int8.to(x.dtype) * self.scale.to(x.dtype)[:, None]
        return nn.functional.linear(x, weight, None if self.bias is None else self.bias.to(x.dtype))


def quantize_weights_(module: nn.Module, skip: tuple[str, ...] = SKIP) -> int:
    """Replace every Linear (but `skip`) by an Int8WeightLinear, in place; returns how many were replaced."""
    replaced = 0
    for name, parent in list(module.named_modules()):
        for child_name, child in list(parent.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Linear) and not any(full.endswith(s) for s in skip):
                setattr(parent, child_name, Int8WeightLinear(child))
                replaced += 1
    return replaced


def parameter_count(module: nn.Module) -> int:
    """Parameters as the model had them before quantizing (int8 weights are buffers), tied tensors once."""
    from engine.models.text_model import count_parameters

    total = count_parameters(module)  # parameters() already yields a tied tensor once
    return total + sum(m.weight_int8.numel() for m in module.modules() if isinstance(m, Int8WeightLinear))
