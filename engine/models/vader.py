"""VADER: the zero-parameter, rule-based baseline (lexicon + rules, package nltk-vader-sentiment)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.models.text_model import TextModel


class VaderClassifier(TextModel):
    def __init__(self) -> None:
        from vader import SentimentIntensityAnalyzer

        super().__init__(name="vader", family="rule-based", module=None, tokenizer=None)
        self._analyzer = SentimentIntensityAnalyzer()

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """A vote per text: (1, 0) negative, (0, 1) positive when the compound score is >= 0. VADER calls
        |compound| < 0.05 neutral, but the task is binary and the movie data has no neutral class.
        batch_size is accepted for interface parity only."""
        positive = np.array([self._analyzer.polarity_scores(text)["compound"] >= 0 for text in texts], dtype=bool)
        return np.column_stack([~positive, positive]).astype(np.float32).reshape(len(texts), 2)

    def with_module(self, module: Any) -> TextModel:
        raise ValueError("VADER is rule-based: it has no module to quantize, prune or cast")

    def num_parameters(self) -> int:
        return 0

    def size_bytes(self) -> int:
        """The lexicon and rules as shipped (the package's data files)."""
        from pathlib import Path

        import vader

        return sum(f.stat().st_size for f in (Path(vader.__file__).parent / "data").glob("*.py"))


def load() -> VaderClassifier:
    return VaderClassifier()
