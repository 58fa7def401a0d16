"""Distillation and labels-only retraining, on tiny BERTs and a small synthetic sentiment task.

The teacher is a real (tiny) encoder + logistic-regression head fitted the way the project fits heads; only
where it comes from (load_model) and the data (task_splits) are swapped for the tiny ones.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertModel, BertTokenizerFast

import engine.tasks
from engine.datasets import LabelledTexts, Splits, Texts
from engine.models import heads
from engine.models.encoders import Encoder
from engine.models.text_model import PooledEncoder, TextModel
from engine.techniques import TechniqueContext, compress, distill, teacher_cache
from engine.techniques.distill import Recipe
from engine.techniques.teacher_cache import teacher_logits_path, transfer_logits_path

POSITIVE = "good great fun superb lovely brilliant charming moving".split()
NEGATIVE = "bad awful dull boring poor terrible bland tedious".split()
NEUTRAL = "the a movie plot film was is it and of this acting story its".split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Rates far above the real recipe's: a randomly initialised tiny model must learn in a few dozen steps.
FAST = Recipe(encoder_lr=1e-3, head_lr=1e-2, val_size=64, log_every_steps=2)
QUIET_TORCH_AO = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def synthetic(n: int, seed: int) -> LabelledTexts:
    """Sentences mixing neutral words with 1-3 words of the label's polarity and sometimes one of the other."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.randint(0, 1)
        own, other = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        words = rng.choices(own, k=rng.randint(1, 3)) + rng.choices(other, k=rng.randint(0, 1))
        words += rng.choices(NEUTRAL, k=rng.randint(2, 8))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return LabelledTexts(tuple(texts), tuple(labels), f"synthetic (seed {seed})")


def tiny_encoder(seed: int, layers: int = 2, hidden: int = 32) -> Encoder:
    torch.manual_seed(seed)
    vocab = {w: i for i, w in enumerate(SPECIALS + POSITIVE + NEGATIVE + NEUTRAL)}
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=64)
    return Encoder(BertModel(config, add_pooling_layer=False).eval(), BertTokenizerFast(vocab=vocab), f"tiny-{seed}")


@pytest.fixture(autouse=True)
def one_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a shared 2-core machine spinning threads make them ~7x
    slower. The real-pack test keeps all threads."""
    threads = torch.get_num_threads()
    if request.node.get_closest_marker("slow") is None:
        torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def splits() -> Splits:
    return Splits(train=synthetic(192, 0), validation=synthetic(64, 1), test=synthetic(64, 2))


@pytest.fixture(scope="module")
def teacher(splits: Splits) -> TextModel:
    """A wider 4-layer encoder with a head fitted by the project's own logistic regression on its embeddings.
    Shared by the module's tests: no handler may change it (one test checks that)."""
    encoder = tiny_encoder(seed=1, layers=4, hidden=64)
    train_x = heads.embed(encoder, splits.train.texts)
    val_x = heads.embed(encoder, splits.validation.texts)
    head, info = heads.train_head(train_x, splits.train.labels, val_x, splits.validation.labels)
    module = PooledEncoder(encoder.model, head).eval()
    return TextModel("mpnet-base", "encoder", module, encoder.tokenizer, info)


@pytest.fixture
def student() -> TextModel:
    """A smaller encoder with an untrained head: it starts far from the teacher."""
    encoder = tiny_encoder(seed=2, layers=2)
    torch.manual_seed(3)
    module = PooledEncoder(encoder.model, torch.nn.Linear(32, 2)).eval()
    return TextModel("tiny-student", "encoder", module, encoder.tokenizer)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch, splits: Splits, teacher: TextModel) -> list[str]:
    """Route the task's data and the teacher to the tiny ones; returns the list of teacher loads."""
    calls: list[str] = []

    def load_model(task_id: str, model_id: str, progress=None) -> TextModel:
        calls.append(model_id)
        return teacher

    monkeypatch.setattr(heads, "task_splits", lambda task_id: splits)
    monkeypatch.setattr(engine.tasks, "load_model", load_model)
    return calls


def logits(classifier: TextModel, texts: tuple[str, ...]) -> torch.Tensor:
    batch = classifier.tokenizer(list(texts), padding=True, return_tensors="pt")
    with torch.inference_mode():
        return classifier.module(batch["input_ids"], batch["attention_mask"])


def kd_loss(student: TextModel, teacher: TextModel, texts: tuple[str, ...], t: float = 2.0) -> float:
    s, q = logits(student, texts), logits(teacher, texts)
    return float(t * t * F.kl_div(F.log_softmax(s / t, -1), F.log_softmax(q / t, -1), reduction="batchmean",
                                  log_target=True))


def agreement(a: TextModel, b: TextModel, texts: tuple[str, ...]) -> float:
    return float((logits(a, texts).argmax(-1) == logits(b, texts).argmax(-1)).float().mean())


def test_distillation_moves_the_student_toward_the_teacher(loads, splits, teacher, student):
    assert teacher.info["val_accuracy"] >= 0.75  # a teacher worth learning from
    ctx = TechniqueContext(task="sentiment")
    trained = distill.distill(student, ctx, teacher="mpnet-base", epochs=5, recipe=FAST)
    train, val = splits.train.texts, splits.validation.texts
    assert kd_loss(trained, teacher, train) < 0.7 * kd_loss(student, teacher, train)
    after, before = agreement(trained, teacher, val), agreement(student, teacher, val)
    assert after >= 0.8 and after > before + 0.2
    facts = ctx.details["distill"]
    assert facts["val_accuracy_after"] > facts["val_accuracy_before"]
    kd = [p["kd_loss"] for p in facts["curve"] if "kd_loss" in p]
    assert kd[-1] < kd[0]  # the training curve shows it too


def test_the_input_classifier_is_untouched(loads, student):
    before = {k: v.clone() for k, v in student.module.state_dict().items()}
    trained = distill.distill(student, TechniqueContext(task="sentiment"), epochs=1, recipe=FAST)
    assert trained.module is not student.module and not trained.module.training
    assert not student.module.training
    assert all(torch.equal(before[k], v) for k, v in student.module.state_dict().items())
    assert trained.tokenizer is student.tokenizer and "retrained" not in student.info


def test_report_curve_and_progress(loads, student):
    points, messages = [], []
    ctx = TechniqueContext(task="sentiment", curve=points.append, progress=lambda f, m: messages.append((f, m)))
    distill.distill(student, ctx, teacher="mpnet-base", epochs=2, recipe=FAST)
    facts = ctx.details["distill"]
    assert facts["teacher"] == "mpnet-base" and facts["epochs"] == 2 and facts["steps"] == 12  # 192 / 32 x 2
    assert facts["teacher_logits"] == "computed" and facts["teacher_train_accuracy"] > 0.75
    assert facts["upfront_energy_wh"] > 0 and facts["energy_method"]
    assert facts["upfront_energy_wh"] == pytest.approx(facts["training_energy_wh"] + facts["teacher_logits_energy_wh"])
    assert facts["upfront_s"] >= facts["training_s"] > 0
    assert 0 <= facts["best_epoch"] <= 2 and facts["val_accuracy_after"] >= facts["val_accuracy_before"]
    assert points == facts["curve"] and points[0] == {"step": 0, "epoch": 0, "loss": None,
                                                      "val_accuracy": facts["val_accuracy_before"]}
    assert [p["step"] for p in points] == [0, 2, 3, 4, 6, 8, 9, 10, 12]  # every 2 steps + 2 evaluations per epoch
    assert all({"step", "epoch", "loss", "val_accuracy", "kd_loss", "ce_loss"} <= p.keys() for p in points[1:])
    assert sum(p["val_accuracy"] is not None for p in points) == 5  # before + 2 per epoch
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("Distilling from mpnet-base: epoch 2/2, step 12/12, loss ") for _, m in messages)
    assert any(m.startswith("Teacher mpnet-base: labelling training sentences") for _, m in messages)


def test_teacher_logits_are_computed_once_and_cached(loads, splits, student):
    first, second = TechniqueContext(task="sentiment"), TechniqueContext(task="sentiment")
    distill.distill(student, first, epochs=1, recipe=FAST)
    distill.distill(student, second, epochs=1, recipe=FAST)
    assert loads == ["mpnet-base"]  # the second run never loaded the teacher
    a, b = first.details["distill"], second.details["distill"]
    assert (a["teacher_logits"], b["teacher_logits"]) == ("computed", "cached")
    assert b["teacher_logits_energy_wh"] == a["teacher_logits_energy_wh"] > 0  # the cached cost is still counted
    assert b["upfront_energy_wh"] > b["training_energy_wh"] and "cached" in b["upfront_note"]
    path = teacher_logits_path("sentiment", "mpnet-base", splits)
    assert path.is_file() and path.parent.name == "sentiment" and path.name.startswith("mpnet-base-")


def test_changed_training_data_recomputes_the_teacher_logits(loads, monkeypatch, splits, student):
    distill.distill(student, TechniqueContext(task="sentiment"), epochs=1, recipe=FAST)
    other = Splits(train=synthetic(160, 7), validation=splits.validation, test=splits.test)
    monkeypatch.setattr(heads, "task_splits", lambda task_id: other)
    ctx = TechniqueContext(task="sentiment")
    distill.distill(student, ctx, epochs=1, recipe=FAST)
    assert len(loads) == 2 and ctx.details["distill"]["teacher_logits"] == "computed"


def test_a_single_step_of_training_works(monkeypatch, splits, student):
    few = Splits(train=synthetic(20, 3), validation=splits.validation, test=splits.test)
    monkeypatch.setattr(heads, "task_splits", lambda task_id: few)
    ctx = TechniqueContext(task="sentiment")
    distill.finetune(student, ctx, epochs=1, recipe=FAST)
    assert ctx.details["finetune"]["steps"] == 1


def test_finetune_learns_from_labels_alone(loads, student):
    ctx = TechniqueContext(task="sentiment")
    trained = distill.finetune(student, ctx, epochs=4, recipe=FAST)
    facts = ctx.details["finetune"]
    assert loads == [] and list(ctx.details) == ["finetune"]  # no teacher involved
    assert facts["val_accuracy_after"] > facts["val_accuracy_before"] + 0.2
    assert facts["upfront_energy_wh"] == facts["training_energy_wh"] > 0
    assert all("kd_loss" not in p for p in facts["curve"])
    assert not trained.module.training


def test_early_stopping_keeps_the_best_weights(loads, teacher):
    """A learning rate that wrecks the model: the best validation score is the start, so nothing changes."""
    ctx = TechniqueContext(task="sentiment")
    trained = distill.finetune(teacher, ctx, epochs=1, recipe=Recipe(encoder_lr=1.0, head_lr=10.0, val_size=64))
    facts = ctx.details["finetune"]
    assert facts["best_step"] == 0 and facts["val_accuracy_last"] < facts["val_accuracy_before"]
    original = teacher.module.state_dict()
    assert all(torch.equal(original[k], v) for k, v in trained.module.state_dict().items())


def test_the_same_seed_gives_the_same_model(loads, student):
    a = distill.finetune(student, TechniqueContext(task="sentiment", seed=5), epochs=1, recipe=FAST)
    b = distill.finetune(student, TechniqueContext(task="sentiment", seed=5), epochs=1, recipe=FAST)
    assert all(torch.equal(v, b.module.state_dict()[k]) for k, v in a.module.state_dict().items())


@pytest.mark.parametrize(
    ("teacher", "epochs", "message"),
    [
        ("gpt-9", 1, "Unknown model 'gpt-9'.*Available: vader, minilm-l3, minilm-l6, mpnet-base"),
        ("vader", 1, "Teacher 'vader' is a rule-based model without outputs.*mpnet-base"),
        ("mpnet-base", 0, "1 <= epochs"),
    ],
)
def test_bad_parameters_raise_a_clear_value_error(loads, student, teacher, epochs, message):
    with pytest.raises(ValueError, match=message):
        distill.distill(student, TechniqueContext(task="sentiment"), teacher=teacher, epochs=epochs)
    assert loads == []


@QUIET_TORCH_AO
def test_a_quantized_student_is_refused_with_the_right_order(loads, student):
    quantized = compress(student, "int8-dynamic", TechniqueContext(task="sentiment"))
    with pytest.raises(ValueError, match="fp32 PyTorch model.*after distill"):
        distill.finetune(quantized, TechniqueContext(task="sentiment"), epochs=1)


def test_spec_strings_reach_the_handlers(loads, student):
    ctx = TechniqueContext(task="sentiment")
    compress(student, "finetune:epochs=1+distill:teacher=mpnet-base,epochs=1", ctx)
    assert list(ctx.details) == ["finetune", "distill"]
    assert ctx.details["distill"]["recipe"]["encoder_lr"] == 5e-5  # the real recipe when called from a spec


@pytest.fixture
def transfer(monkeypatch: pytest.MonkeyPatch) -> Texts:
    """An unlabelled transfer set: synthetic sentences whose labels are thrown away."""
    pool = Texts(synthetic(96, 11).texts, "synthetic unlabelled")
    monkeypatch.setattr(teacher_cache, "transfer_set", lambda task_id: pool)
    return pool


def test_transfer_sentences_are_labelled_by_the_teacher_once_and_sliced(loads, splits, student, transfer):
    first, second = TechniqueContext(task="sentiment"), TechniqueContext(task="sentiment")
    distill.distill(student, first, epochs=1, transfer=96, recipe=FAST)
    distill.distill(student, second, epochs=1, transfer=32, recipe=FAST)
    a, b = first.details["distill"], second.details["distill"]
    assert loads == ["mpnet-base"]  # one load for training + transfer sentences; the second run used the cache
    assert (a["transfer_size"], a["trained_on"], a["steps"]) == (96, 192 + 96, 9)  # 288 / 32
    assert (b["transfer_size"], b["trained_on"], b["transfer_logits"]) == (32, 192 + 32, "cached")
    assert b["transfer_logits_energy_wh"] == pytest.approx(a["transfer_logits_energy_wh"] / 3)  # its share
    assert a["upfront_energy_wh"] == pytest.approx(
        a["training_energy_wh"] + a["teacher_logits_energy_wh"] + a["transfer_logits_energy_wh"])
    assert transfer_logits_path("sentiment", "mpnet-base", splits).is_file()


def test_a_changed_transfer_set_is_relabelled(loads, monkeypatch, student, transfer):
    distill.distill(student, TechniqueContext(task="sentiment"), epochs=1, transfer=32, recipe=FAST)
    other = Texts(synthetic(96, 12).texts, "another synthetic set")
    monkeypatch.setattr(teacher_cache, "transfer_set", lambda task_id: other)
    ctx = TechniqueContext(task="sentiment")
    distill.distill(student, ctx, epochs=1, transfer=32, recipe=FAST)
    assert ctx.details["distill"]["transfer_logits"] == "computed"


def test_transfer_larger_than_the_set_names_the_limit(loads, student, transfer):
    with pytest.raises(ValueError, match="transfer=97 is out of range.*holds 96.*transfer=96 or less"):
        distill.distill(student, TechniqueContext(task="sentiment"), transfer=97, recipe=FAST)
    assert loads == []


def test_unlabelled_only_batches_train_on_the_teacher_term_alone():
    student = torch.tensor([[2.0, -1.0], [0.5, 0.5]], requires_grad=True)
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    from engine.tasks.base import TrainingSignal
    from engine.tasks.text_classification import label_loss, teacher_loss

    terms = TrainingSignal((), (), (), (), label_loss, teacher_loss, lambda o, t: 0.0, "val_accuracy", "none")
    losses = distill._loss(terms, student, torch.tensor([distill.UNLABELLED] * 2), teacher, Recipe())
    value = {k: v.detach().item() for k, v in losses.items()}
    assert value["ce_loss"] == 0.0 and value["loss"] == pytest.approx(value["kd_loss"])
    losses["loss"].backward()
    assert torch.isfinite(student.grad).all() and student.grad.abs().sum() > 0
