"""Knowledge distillation from a large teacher, and retraining on the labels alone (its yardstick).

Both handlers run one loop (`_train`): the WHOLE student (encoder + head) is trained with AdamW on the task's
training split, in length-sorted batches whose order is reshuffled every epoch (tight padding, random order).
Validation accuracy on a fixed subset is measured before training and EVALS_PER_EPOCH times per epoch, and the
best weights seen are returned: early stopping by validation, so a run that only hurts gives the student back
unchanged (best_epoch 0).

Distillation loss per batch: teacher_term + alpha * label_term, both from the task's kind (engine.tasks):
for classification T^2 * KL(softmax(teacher / T) || softmax(student / T)) + alpha * CE(student, labels)
(Hinton et al. 2015); for search the teacher's in-batch similarity structure plus a contrastive term on the
question types. The label term anchors the student where the teacher is wrong. Finetuning uses it alone.

The teacher's outputs on the training split are computed once per (teacher, data) and cached
(engine.techniques.teacher_cache); the energy and time that took are counted in every distillation's
upfront cost.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from engine.measure.energy import EnergyMeter
from engine.models import heads
from engine.models.batching import length_sorted_batches
from engine.models.text_model import TextModel
from engine.registry import get_model, get_task
from engine.tasks import kind_of
from engine.tasks.base import TrainingSignal
from engine.techniques.base import TechniqueContext
from engine.techniques.teacher_cache import (
    Teacher,
    compute_teacher_logits,
    compute_transfer_logits,
    read_teacher_logits,
    read_transfer_logits,
    transfer_pool,
)

Progress = Callable[[float, str], None]
Batch = tuple[list[int], torch.Tensor, torch.Tensor]  # (indices into the split, input_ids, attention_mask)
TEACHER_SHARE = 0.3  # of the progress bar, when the teacher's logits are computed now
UNLABELLED = -1  # label of a transfer sentence: only the teacher's answer trains on it
TEACHER_FAMILIES = ("encoder", "llm")  # an LLM teaches by its calibrated answer likelihoods (class logits)


@dataclass(frozen=True)
class Recipe:
    """Training settings. Not spec parameters (the dashboard shows teacher and epochs); tests and benchmarks
    may pass their own."""

    batch_size: int = 32
    encoder_lr: float = 5e-5  # the usual BERT fine-tuning rate: the pretrained encoder moves, not relearns
    head_lr: float = 1e-3  # the head is 2 x hidden and must follow a moving encoder
    weight_decay: float = 0.01  # on matrices only; biases and LayerNorm weights are not decayed
    warmup_share: float = 0.1  # linear warm-up over this share of the steps, then linear decay to 0
    max_grad_norm: float = 1.0
    temperature: float = 2.0
    alpha: float = 0.5  # weight of the label term next to the teacher term
    val_size: int = 500  # fixed validation subset (seed 0): every run is judged on the same sentences
    evals_per_epoch: int = 2
    log_every_steps: int = 5  # a curve point (mean loss since the last one) every this many steps


RECIPE = Recipe()


def distill(classifier: TextModel, ctx: TechniqueContext, teacher: str = "mpnet-base", epochs: int = 2,
            transfer: int = 0, recipe: Recipe = RECIPE) -> TextModel:
    """Train the student to match the teacher's (softened) answers and the labels; with `transfer` > 0 also
    the teacher's answers on that many unlabelled sentences of the task's transfer set."""
    _check_epochs(epochs)
    task = get_task(ctx.task)
    teacher_spec = get_model(teacher, task)  # ChoiceError (a ValueError) with a did-you-mean
    if teacher_spec.family not in TEACHER_FAMILIES:
        raise ValueError(f"Teacher '{teacher}' is a {teacher_spec.family} model without outputs to learn from. "
                         f"Use an encoder or an LLM: "
                         f"{', '.join(m for m in task.models if get_model(m).family in TEACHER_FAMILIES)}.")
    if int(transfer) != transfer or transfer < 0:
        raise ValueError(f"transfer={transfer} is out of range: 0 <= transfer (an integer number of sentences).")
    student = _student_copy(classifier)
    splits = heads.task_splits(task.id)  # the one place task data comes from (tests route it)
    signal = kind_of(task).signal(task, ctx.seed)
    extra = transfer_pool(task.id, int(transfer))
    labeller = Teacher(task.id, teacher, ctx.region)
    cached = read_teacher_logits(task.id, teacher, splits)
    extra_cached = read_transfer_logits(task.id, teacher, splits, len(extra)) if extra else None
    share = 0.0 if cached and (extra_cached or not extra) else TEACHER_SHARE

    def teacher_progress(f: float, m: str) -> None:
        ctx.progress(share * f, m)

    if cached is None:
        logits, meta = compute_teacher_logits(task.id, teacher, splits, ctx.region, teacher_progress, labeller,
                                              signal)
    else:
        logits, meta = cached
    extra_logits, extra_meta = None, None
    if extra:
        extra_logits, extra_meta = extra_cached or compute_transfer_logits(task.id, teacher, splits, extra,
                                                                           labeller, teacher_progress)
    facts = _train(student, classifier, ctx, signal, epochs, recipe, logits, f"Distilling from {teacher}",
                   lambda f, m: ctx.progress(share + (1 - share) * f, m),
                   transfer=(extra.texts, extra_logits) if extra else None)
    teacher_s = meta["seconds"] + (extra_meta["seconds"] if extra_meta else 0.0)
    teacher_wh = meta["energy_wh"] + (extra_meta["energy_wh"] if extra_meta else 0.0)
    facts.update(
        teacher=teacher, teacher_logits="cached" if cached else "computed",
        teacher_logits_s=meta["seconds"], teacher_load_s=meta["load_s"], teacher_logits_energy_wh=meta["energy_wh"],
        teacher_train_accuracy=meta["train_accuracy"],
        upfront_s=facts["training_s"] + teacher_s,
        upfront_energy_wh=facts["training_energy_wh"] + teacher_wh,
        upfront_note="training + the teacher's pass over the training sentences"
        + (" and the transfer sentences" if extra else "")
        + (" (cached: measured when first computed, counted again here)" if cached else " (computed now)"),
    )
    if extra_meta:
        facts.update(transfer_size=len(extra), transfer_source=extra.source,
                     transfer_logits="cached" if extra_cached else "computed",
                     transfer_logits_s=extra_meta["seconds"], transfer_logits_energy_wh=extra_meta["energy_wh"])
    ctx.report("distill", **facts)
    return _result(classifier, student, "distill", facts)


def finetune(classifier: TextModel, ctx: TechniqueContext, epochs: int = 2,
             recipe: Recipe = RECIPE) -> TextModel:
    """The same training on the labels alone: what the teacher adds is the difference to distill."""
    _check_epochs(epochs)
    task = get_task(ctx.task)
    student = _student_copy(classifier)
    facts = _train(student, classifier, ctx, kind_of(task).signal(task, ctx.seed), epochs, recipe, None,
                   "Retraining on labels", ctx.progress)
    facts.update(upfront_s=facts["training_s"], upfront_energy_wh=facts["training_energy_wh"],
                 upfront_note="training only")
    ctx.report("finetune", **facts)
    return _result(classifier, student, "finetune", facts)


# --- the shared training loop -------------------------------------------------------------------------------


def _train(student: torch.nn.Module, original: TextModel, ctx: TechniqueContext, signal: TrainingSignal,
           epochs: int, recipe: Recipe, teacher_logits: torch.Tensor | None, what: str, progress: Progress,
           transfer: tuple[Sequence[str], torch.Tensor] | None = None) -> dict[str, Any]:
    """Train `student` in place and leave it holding the best validation weights; return the facts.
    `transfer` adds unlabelled sentences with the teacher's outputs (label -1: only the teacher term sees them)."""
    val_order = np.random.default_rng(0).permutation(len(signal.validation_texts))[: recipe.val_size]
    val_texts = [signal.validation_texts[i] for i in val_order]
    val_targets = [signal.validation_targets[i] for i in val_order]
    if teacher_logits is not None and teacher_logits.shape[0] != len(signal.texts):
        raise ValueError(f"Teacher outputs cover {teacher_logits.shape[0]} sentences, the training split "
                         f"{len(signal.texts)}: delete the cached file and retry.")
    def tokenize(texts: Sequence[str]) -> list[Batch]:  # once: every epoch reuses the same batches
        return list(length_sorted_batches(original.tokenizer, texts, recipe.batch_size, original.max_length))

    texts, label_list = list(signal.texts), list(signal.targets)
    if transfer is not None and teacher_logits is not None:
        texts += list(transfer[0])
        label_list += [UNLABELLED] * len(transfer[0])
        teacher_logits = torch.cat([teacher_logits, transfer[1]])
    batches, val_batches = tokenize(texts), tokenize(val_texts)
    labels = torch.tensor(label_list)

    def validate() -> float:
        return _validation_score(student, val_batches, val_targets, signal)
    per_epoch, total = len(batches), epochs * len(batches)
    eval_steps = {max(1, round(per_epoch * k / recipe.evals_per_epoch)) for k in range(1, recipe.evals_per_epoch + 1)}

    score_key = signal.score_name  # "val_accuracy" for tasks scored by accuracy
    torch.manual_seed(ctx.seed)  # dropout
    order = torch.Generator().manual_seed(ctx.seed)  # batch order
    optimizer = _optimizer(student, recipe)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_then_decay(total, recipe.warmup_share))
    curve: list[dict[str, Any]] = []

    def emit(point: dict[str, Any]) -> None:
        point = {k: round(v, 4) if isinstance(v, float) else v for k, v in point.items()}
        curve.append(point)
        ctx.curve(point)

    started = time.perf_counter()
    with EnergyMeter(region=ctx.region) as meter:
        before = validate()
        best_accuracy, best_step, best_state = before, 0, _snapshot(student)
        emit({"step": 0, "epoch": 0, "loss": None, score_key: before})
        step, window = 0, []
        for epoch in range(1, epochs + 1):
            student.train()
            for b in torch.randperm(per_epoch, generator=order).tolist():
                indices, input_ids, mask = batches[b]
                losses = _loss(signal, student(input_ids, mask), labels[indices],
                               None if teacher_logits is None else teacher_logits[indices], recipe)
                optimizer.zero_grad(set_to_none=True)
                losses["loss"].backward()
                torch.nn.utils.clip_grad_norm_(student.parameters(), recipe.max_grad_norm)
                optimizer.step()
                schedule.step()
                step += 1
                window.append({k: v.item() for k, v in losses.items()})
                accuracy = None
                if step - (epoch - 1) * per_epoch in eval_steps:
                    accuracy = validate()
                    student.train()
                    if accuracy > best_accuracy:  # ties keep the earlier (less trained) weights
                        best_accuracy, best_step, best_state = accuracy, step, _snapshot(student)
                if accuracy is not None or step % recipe.log_every_steps == 0:
                    means = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
                    emit({"step": step, "epoch": epoch, **means, score_key: accuracy})
                    window = []
                progress(step / total, f"{what}: epoch {epoch}/{epochs}, step {step}/{total}, "
                                       f"loss {losses['loss'].item():.2f}")
        last_accuracy = curve[-1][score_key]
        student.load_state_dict(best_state)
    energy = meter.result
    return {
        "epochs": epochs, "steps": total, "train_size": len(signal.texts), "val_size": len(val_texts),
        "validation_score": score_key,
        "trained_on": len(texts),
        "training_s": round(time.perf_counter() - started, 2), "training_energy_wh": energy.energy_wh,
        "training_cpu_energy_wh": energy.cpu_wh,  # the RAM share grows with wall time, so with contention
        "energy_method": energy.method,
        "val_accuracy_before": before, "val_accuracy_after": best_accuracy, "val_accuracy_last": last_accuracy,
        "best_step": best_step, "best_epoch": round(best_step / per_epoch, 2),
        "recipe": asdict(recipe), "curve": curve,
    }


def _loss(signal: TrainingSignal, student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None,
          recipe: Recipe) -> dict[str, torch.Tensor]:
    ce = signal.label_loss(student, labels)
    if teacher is None:
        return {"loss": ce, "ce_loss": ce}
    kd = signal.teacher_loss(student, teacher, recipe.temperature)
    return {"loss": kd + recipe.alpha * ce, "kd_loss": kd, "ce_loss": ce}


def _optimizer(student: torch.nn.Module, recipe: Recipe) -> torch.optim.AdamW:
    head = getattr(student, "head", None)
    head_ids = {id(p) for p in head.parameters()} if isinstance(head, torch.nn.Module) else set()
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for p in student.parameters():
        groups.setdefault((id(p) in head_ids, p.ndim >= 2), []).append(p)
    return torch.optim.AdamW([
        {"params": params, "lr": recipe.head_lr if in_head else recipe.encoder_lr,
         "weight_decay": recipe.weight_decay if is_matrix else 0.0}
        for (in_head, is_matrix), params in groups.items()
    ])


def _warmup_then_decay(total_steps: int, warmup_share: float) -> Callable[[int], float]:
    warmup = max(1, round(total_steps * warmup_share))
    decay = max(1, total_steps - warmup)
    return lambda step: (step + 1) / warmup if step < warmup else max(0.0, (total_steps - step) / decay)


def _validation_score(module: torch.nn.Module, batches: Sequence[Batch], targets: Sequence[int],
                      signal: TrainingSignal) -> float:
    """The kind's validation score of the module on pre-tokenized batches (accuracy for class logits)."""
    module.eval()
    rows: dict[int, np.ndarray] = {}
    with torch.inference_mode():
        for indices, input_ids, mask in batches:
            for i, row in zip(indices, module(input_ids, mask).float().numpy(), strict=True):
                rows[i] = row
    if not rows:
        return 0.0
    return signal.validation_score(np.stack([rows[i] for i in range(len(targets))]), targets)


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _check_epochs(epochs: int) -> None:
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs={epochs} is out of range: 1 <= epochs (an integer).")


def _student_copy(classifier: TextModel) -> torch.nn.Module:
    """A trainable fp32 copy; the given module (shared by the model cache) is never touched."""
    module = classifier.module
    if module is None or classifier.tokenizer is None:
        raise ValueError(f"{classifier.name} has no PyTorch model and tokenizer to train.")
    quantized = [type(m).__name__ for m in module.modules() if "quantized" in type(m).__module__]
    odd = {str(p.dtype) for p in module.parameters() if p.dtype != torch.float32}
    if quantized or odd:
        raise ValueError(f"Training needs an fp32 PyTorch model, but {classifier.name} has "
                         f"{', '.join(sorted(set(quantized)) or sorted(odd))}: put int8/bf16/onnx steps after "
                         "distill or finetune, e.g. layer-drop:keep=3+distill+int8-dynamic.")
    student = copy.deepcopy(module)
    for p in student.parameters():
        p.requires_grad_(True)
    return student


def _result(original: TextModel, student: torch.nn.Module, step: str, facts: dict[str, Any]) -> TextModel:
    result = original.with_module(student.eval())
    result.info["retrained"] = {"by": step, "val_accuracy_subset": facts["val_accuracy_after"],
                                "best_epoch": facts["best_epoch"]}
    return result


