"""How an instruction-tuned LLM is asked to do a classification task: prompt templates as data, one per task.

The text goes where "{text}" stands; the model's own chat template wraps the instruction as a user turn, and
the first token of its answer is scored: each class's answer word (in the task's label order) by its
next-token likelihood. A task without an entry (an uploaded CSV) gets a generic prompt listing its labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.registry.specs import TaskSpec


@dataclass(frozen=True)
class PromptSpec:
    instruction: str  # the user turn, with "{text}"
    answers: tuple[str, ...]  # the word that answers each class, in the task's label order
    system: str = ""  # a system turn; "" keeps the model's default

    def render(self, text: str) -> str:
        return self.instruction.replace("{text}", text)


PROMPTS: dict[str, PromptSpec] = {
    "sentiment": PromptSpec(
        "Is the sentiment of this movie review positive or negative?\n\nReview: {text}\n\n"
        "Answer with one word: positive or negative.",
        ("negative", "positive"),
    ),
    "spam": PromptSpec(
        "Is this SMS text message spam (advertising, prizes, scams, paid services) or an ordinary message "
        "between people?\n\nMessage: {text}\n\nAnswer with one word: spam or ordinary.",
        ("ordinary", "spam"),
    ),
    "topic": PromptSpec(
        "What kind of answer does this question ask for?\n\nQuestion: {text}\n\n"
        "Choose one: abbreviation (what an abbreviation stands for), description (a definition, reason or "
        "manner), entity (a thing, animal, color, product, event, term...), person (a person or group), "
        "location (a place), number (a count, date, amount, distance, speed...).\nAnswer with one word.",
        ("abbreviation", "description", "entity", "person", "location", "number"),
    ),
}


def generic_prompt(labels: tuple[str, ...]) -> PromptSpec:
    choices = ", ".join(labels)
    return PromptSpec(f"Which of these labels fits the text best: {choices}?\n\nText: {{text}}\n\n"
                      f"Answer with one label only: {choices}.", tuple(labels))


def lettered_prompt(labels: tuple[str, ...]) -> PromptSpec:
    """When label names share their first token (e.g. "very good", "very bad"), answer with a letter."""
    letters = [chr(ord("A") + i) for i in range(len(labels))]
    options = "\n".join(f"{letter}) {label}" for letter, label in zip(letters, labels, strict=True))
    return PromptSpec(f"Which label fits the text best?\n\nText: {{text}}\n\n{options}\n\nAnswer with the "
                      "letter only.", tuple(letters))


def prompt_for(task: TaskSpec) -> PromptSpec:
    return PROMPTS.get(task.id) or generic_prompt(task.labels)
