"""Text generation (task "generation"): held-out news text to score a language model on, and a fixed set of
prompts it writes from.

- Scored text: the 50 rated Lee news documents (gensim's lee.cor). Nothing in this project trains on them
  (search only compares them with people's ratings); the LLMs' pretraining may have seen the web copy, which
  a published benchmark could not rule out either.
- Prompts: the opening words of 16 Lee background documents, in file order; each response continues one.
"""

from __future__ import annotations

import functools

from engine.datasets.base import LabelledTexts, Splits, Texts
from engine.datasets.similarity import _lee_background, lee_documents

PROMPTS = 16
PROMPT_WORDS = 12


@functools.cache
def generation_passages(seed: int = 0) -> LabelledTexts:
    """The held-out documents as one test set (no labels: the text itself is the answer)."""
    documents = lee_documents().documents
    return LabelledTexts(documents, (0,) * len(documents), "gensim lee.cor: 50 news documents (Lee, Pincombe & "
                         "Welsh 2005), never trained on here")


def generation_splits(seed: int = 0) -> Splits:
    """No training happens for this task: every split is the held-out text (techniques that train refuse)."""
    passages = generation_passages(seed)
    return Splits(train=passages, validation=passages, test=passages)


@functools.cache
def generation_prompts() -> Texts:
    openings = tuple(" ".join(d.split()[:PROMPT_WORDS]) for d in _lee_background()[:PROMPTS])
    return Texts(openings, f"the first {PROMPT_WORDS} words of {PROMPTS} gensim lee_background.cor documents")
