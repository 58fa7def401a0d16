"""Knowledge distillation from a large teacher, and retraining on the labels alone (its yardstick).

Both handlers run one loop (`_train`): the WHOLE student (encoder + head) is trained with AdamW on the task's
training split, in length-sorted batches whose order is reshuffled every epoch (tight padding, random order).
Validation accuracy on a fixed subset is measured before training and EVALS_PER_EPOCH times per epoch, and the
best weights seen are returned: early stopping by validation, so a run that only hurts gives the student back
unchanged (best_epoch 0).

Distillation loss per batch (Hinton et al. 2015):
    T^2 * KL(softmax(teacher / T) || softmax(student / T)) + alpha * CE(student, labels)
The temperature softens the teacher's confident answers so "how sure" carries information too; T^2 keeps the
soft term's gradients on the scale of the label term. The label term anchors the student where the teacher
is wrong. Finetuning uses the label term alone.

The teacher's logits on the training split are computed once per (teacher, data) and cached as safetensors;
the energy and time that took are stored with them and counted in every distillation's upfront cost.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from engine.config import settings
from engine.datasets import Texts
from engine.measure.energy import EnergyMeter
from engine.models.batching import MAX_LENGTH_TOKENS, length_sorted_batches
from engine.models.classifier import TextClassifier, load_classifier
from engine.models.heads import data_fingerprint, read_tensors, save_tensors, task_splits
from engine.registry import get_model, get_task, resolve
from engine.techniques.base import TechniqueContext

Progress = Callable[[float, str], None]
Batch = tuple[list[int], torch.Tensor, torch.Tensor]  # (indices into the split, input_ids, attention_mask)
LOGITS_FORMAT = "1"  # bump when the teacher pass changes, so cached logits are recomputed
TEACHER_SHARE = 0.3  # of the progress bar, when the teacher's logits are computed now
UNLABELLED = -1  # label of a transfer sentence: only the teacher's answer trains on it


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


def distill(classifier: TextClassifier, ctx: TechniqueContext, teacher: str = "mpnet-base", epochs: int = 2,
            transfer: int = 0, recipe: Recipe = RECIPE) -> TextClassifier:
    """Train the student to match the teacher's (softened) answers and the labels; with `transfer` > 0 also
    the teacher's answers on that many unlabelled sentences of the task's transfer set."""
    _check_epochs(epochs)
    task = get_task(ctx.task)
    teacher_spec = get_model(teacher, task)  # ChoiceError (a ValueError) with a did-you-mean
    if teacher_spec.family != "encoder":
        raise ValueError(f"Teacher '{teacher}' is a {teacher_spec.family} model without logits to learn from. "
                         f"Use an encoder: {', '.join(m for m in task.models if get_model(m).family == 'encoder')}.")
    if int(transfer) != transfer or transfer < 0:
        raise ValueError(f"transfer={transfer} is out of range: 0 <= transfer (an integer number of sentences).")
    student = _student_copy(classifier)
    splits = task_splits(task.id)
    extra = transfer_pool(task.id, int(transfer))
    labeller = _Teacher(task.id, teacher, ctx.region)
    cached = read_teacher_logits(task.id, teacher, splits)
    extra_cached = read_transfer_logits(task.id, teacher, splits, len(extra)) if extra else None
    share = 0.0 if cached and (extra_cached or not extra) else TEACHER_SHARE

    def teacher_progress(f: float, m: str) -> None:
        ctx.progress(share * f, m)

    if cached is None:
        logits, meta = compute_teacher_logits(task.id, teacher, splits, ctx.region, teacher_progress, labeller)
    else:
        logits, meta = cached
    extra_logits, extra_meta = None, None
    if extra:
        extra_logits, extra_meta = extra_cached or compute_transfer_logits(task.id, teacher, splits, extra,
                                                                           labeller, teacher_progress)
    facts = _train(student, classifier, ctx, splits, epochs, recipe, logits, f"Distilling from {teacher}",
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


def transfer_pool(task_id: str, size: int) -> Texts | None:
    """The first `size` sentences of the task's unlabelled transfer set (None for 0)."""
    if size == 0:
        return None
    task = get_task(task_id)
    if not task.transfer_loader:
        raise ValueError(f"Task '{task_id}' has no unlabelled sentences for distillation: use transfer=0.")
    pool = transfer_set(task_id)
    if size > len(pool):
        raise ValueError(f"transfer={size} is out of range: the {task_id} transfer set holds {len(pool)} "
                         f"sentences. Use transfer={len(pool)} or less.")
    return Texts(pool.texts[:size], f"{pool.source}, first {size}")


def transfer_set(task_id: str) -> Texts:
    return resolve(get_task(task_id).transfer_loader)()


def finetune(classifier: TextClassifier, ctx: TechniqueContext, epochs: int = 2,
             recipe: Recipe = RECIPE) -> TextClassifier:
    """The same training on the labels alone: what the teacher adds is the difference to distill."""
    _check_epochs(epochs)
    task = get_task(ctx.task)
    student = _student_copy(classifier)
    facts = _train(student, classifier, ctx, task_splits(task.id), epochs, recipe, None,
                   "Retraining on labels", ctx.progress)
    facts.update(upfront_s=facts["training_s"], upfront_energy_wh=facts["training_energy_wh"],
                 upfront_note="training only")
    ctx.report("finetune", **facts)
    return _result(classifier, student, "finetune", facts)


# --- the shared training loop -------------------------------------------------------------------------------


def _train(student: torch.nn.Module, original: TextClassifier, ctx: TechniqueContext, splits: Any, epochs: int,
           recipe: Recipe, teacher_logits: torch.Tensor | None, what: str, progress: Progress,
           transfer: tuple[Sequence[str], torch.Tensor] | None = None) -> dict[str, Any]:
    """Train `student` in place and leave it holding the best validation weights; return the facts.
    `transfer` adds unlabelled sentences with the teacher's logits (label -1: only the teacher term sees them)."""
    train, val = splits.train, splits.validation.sample(recipe.val_size, seed=0)
    if teacher_logits is not None and teacher_logits.shape[0] != len(train):
        raise ValueError(f"Teacher logits cover {teacher_logits.shape[0]} sentences, the training split "
                         f"{len(train)}: delete the cached file and retry.")
    def tokenize(texts: Sequence[str]) -> list[Batch]:  # once: every epoch reuses the same batches
        return list(length_sorted_batches(original.tokenizer, texts, recipe.batch_size, original.max_length))

    texts, label_list = list(train.texts), list(train.labels)
    if transfer is not None and teacher_logits is not None:
        texts += list(transfer[0])
        label_list += [UNLABELLED] * len(transfer[0])
        teacher_logits = torch.cat([teacher_logits, transfer[1]])
    batches, val_batches = tokenize(texts), tokenize(val.texts)
    labels, val_labels = torch.tensor(label_list), torch.tensor(val.labels)
    per_epoch, total = len(batches), epochs * len(batches)
    eval_steps = {max(1, round(per_epoch * k / recipe.evals_per_epoch)) for k in range(1, recipe.evals_per_epoch + 1)}

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
        before = _accuracy(student, val_batches, val_labels)
        best_accuracy, best_step, best_state = before, 0, _snapshot(student)
        emit({"step": 0, "epoch": 0, "loss": None, "val_accuracy": before})
        step, window = 0, []
        for epoch in range(1, epochs + 1):
            student.train()
            for b in torch.randperm(per_epoch, generator=order).tolist():
                indices, input_ids, mask = batches[b]
                losses = _loss(student(input_ids, mask), labels[indices],
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
                    accuracy = _accuracy(student, val_batches, val_labels)
                    student.train()
                    if accuracy > best_accuracy:  # ties keep the earlier (less trained) weights
                        best_accuracy, best_step, best_state = accuracy, step, _snapshot(student)
                if accuracy is not None or step % recipe.log_every_steps == 0:
                    means = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
                    emit({"step": step, "epoch": epoch, **means, "val_accuracy": accuracy})
                    window = []
                progress(step / total, f"{what}: epoch {epoch}/{epochs}, step {step}/{total}, "
                                       f"loss {losses['loss'].item():.2f}")
        last_accuracy = curve[-1]["val_accuracy"]
        student.load_state_dict(best_state)
    energy = meter.result
    return {
        "epochs": epochs, "steps": total, "train_size": len(train), "val_size": len(val),
        "trained_on": len(texts),
        "training_s": round(time.perf_counter() - started, 2), "training_energy_wh": energy.energy_wh,
        "training_cpu_energy_wh": energy.cpu_wh,  # the RAM share grows with wall time, so with contention
        "energy_method": energy.method,
        "val_accuracy_before": before, "val_accuracy_after": best_accuracy, "val_accuracy_last": last_accuracy,
        "best_step": best_step, "best_epoch": round(best_step / per_epoch, 2),
        "recipe": asdict(recipe), "curve": curve,
    }


def _loss(student: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor | None,
          recipe: Recipe) -> dict[str, torch.Tensor]:
    labelled = labels != UNLABELLED
    ce = F.cross_entropy(student[labelled], labels[labelled]) if labelled.any() else student.sum() * 0.0
    if teacher is None:
        return {"loss": ce, "ce_loss": ce}
    t = recipe.temperature
    kd = t * t * F.kl_div(F.log_softmax(student / t, dim=-1), F.log_softmax(teacher / t, dim=-1),
                          reduction="batchmean", log_target=True)
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


def _accuracy(module: torch.nn.Module, batches: Sequence[Batch], labels: torch.Tensor) -> float:
    module.eval()
    correct = 0
    with torch.inference_mode():
        for indices, input_ids, mask in batches:
            correct += int((module(input_ids, mask).argmax(dim=-1) == labels[indices]).sum())
    return correct / max(1, len(labels))


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _check_epochs(epochs: int) -> None:
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs={epochs} is out of range: 1 <= epochs (an integer).")


def _student_copy(classifier: TextClassifier) -> torch.nn.Module:
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


def _result(original: TextClassifier, student: torch.nn.Module, step: str, facts: dict[str, Any]) -> TextClassifier:
    result = original.with_module(student.eval())
    result.info["retrained"] = {"by": step, "val_accuracy_subset": facts["val_accuracy_after"],
                                "best_epoch": facts["best_epoch"]}
    return result


# --- the teacher's logits, cached ---------------------------------------------------------------------------


def teacher_logits_path(task_id: str, teacher: str, splits: Any) -> Path:
    """Keyed on the teacher AND the data its head was fitted on (the head cache's fingerprint), so changed
    splits or a retrained head give a new file instead of stale logits."""
    head = data_fingerprint(teacher, (splits.train.texts, splits.train.labels),
                            (splits.validation.texts, splits.validation.labels))
    key = hashlib.sha256(f"{LOGITS_FORMAT}\0{MAX_LENGTH_TOKENS}\0{head}".encode()).hexdigest()[:16]
    safe = teacher.replace("/", "--").replace("\\", "--")
    return settings().cache_dir / "teacher-logits" / task_id / f"{safe}-{key}.safetensors"


def _read_logits(path: Path) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """Cached logits and their metadata; None when missing, corrupt or foreign (they are then recomputed)."""
    if not path.is_file():
        return None
    try:
        tensors, meta = read_tensors(path)
        return tensors["logits"], meta
    except Exception:
        return None


def read_teacher_logits(task_id: str, teacher: str, splits: Any) -> tuple[torch.Tensor, dict[str, Any]] | None:
    cached = _read_logits(teacher_logits_path(task_id, teacher, splits))
    if cached is None:
        return None
    logits, meta = cached
    if logits.shape[0] != len(splits.train) or not {"seconds", "load_s", "energy_wh", "train_accuracy"} <= meta.keys():
        return None
    return logits, meta


class _Teacher:
    """The teacher, loaded at most once per distillation and only when some of its answers are not cached.
    Each pass is metered; the first one also pays for loading the model (it is part of the cost)."""

    def __init__(self, task_id: str, teacher: str, region: str) -> None:
        self.task_id, self.name, self.region = task_id, teacher, region
        self.model: TextClassifier | None = None

    def label(self, texts: Sequence[str], what: str, progress: Progress) -> tuple[torch.Tensor, dict[str, Any]]:
        started = time.perf_counter()
        with EnergyMeter(region=self.region) as meter:
            if self.model is None:
                self.model = load_classifier(self.task_id, self.name, progress=lambda f, m: progress(0.2 * f, m))
                if self.model.module is None:
                    raise ValueError(f"Teacher '{self.name}' has no PyTorch model to run.")
            loaded = time.perf_counter()
            logits = torch.empty(0)
            done = 0
            with torch.inference_mode():
                for indices, input_ids, mask in length_sorted_batches(self.model.tokenizer, texts, 32,
                                                                      self.model.max_length):
                    out = self.model.module(input_ids, mask).float()
                    if logits.numel() == 0:
                        logits = torch.empty(len(texts), out.shape[1])
                    logits[indices] = out
                    done += len(indices)
                    progress(0.2 + 0.8 * done / len(texts), f"Teacher {self.name}: labelling {what} {done}/{len(texts)}")
        meta = {"teacher": self.name, "task": self.task_id, "sentences": len(texts),
                "seconds": round(time.perf_counter() - started, 2), "load_s": round(loaded - started, 2),
                "energy_wh": meter.result.energy_wh, "energy_method": meter.result.method,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        return logits, meta


def compute_teacher_logits(task_id: str, teacher: str, splits: Any, region: str, progress: Progress,
                           labeller: _Teacher | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
    """Run the teacher over the training split and cache the logits with what they cost."""
    train = splits.train
    labeller = labeller or _Teacher(task_id, teacher, region)
    logits, meta = labeller.label(train.texts, "training sentences", progress)
    agree = (logits.argmax(dim=-1) == torch.tensor(train.labels)).float().mean().item()
    meta.update(train_accuracy=round(agree, 4), data=train.source)
    save_tensors(teacher_logits_path(task_id, teacher, splits), {"logits": logits}, meta)
    return logits, meta


def transfer_logits_path(task_id: str, teacher: str, splits: Any) -> Path:
    """One file per teacher (and its head's data): it holds the teacher's answers on a prefix of the transfer
    set, so any smaller request is a slice of it."""
    path = teacher_logits_path(task_id, teacher, splits)
    return path.with_name(path.stem + "-transfer" + path.suffix)


def _transfer_cache(task_id: str, teacher: str, splits: Any) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """The cached answers on a prefix of the current transfer set (None if absent or the set changed since)."""
    found = _read_logits(transfer_logits_path(task_id, teacher, splits))
    if found is None or found[1].get("texts_hash") != _texts_hash(transfer_set(task_id).texts[: found[0].shape[0]]):
        return None
    return found


def read_transfer_logits(task_id: str, teacher: str, splits: Any,
                         size: int) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """The cached answers on the first `size` transfer sentences, charged their share of the pass's cost."""
    found = _transfer_cache(task_id, teacher, splits)
    if found is None or found[0].shape[0] < size:
        return None
    logits, meta = found
    share = size / logits.shape[0]
    return logits[:size], {**meta, "seconds": meta["seconds"] * share, "energy_wh": meta["energy_wh"] * share,
                           "sentences": size}


def compute_transfer_logits(task_id: str, teacher: str, splits: Any, texts: Texts, labeller: _Teacher,
                            progress: Progress) -> tuple[torch.Tensor, dict[str, Any]]:
    """Label the sentences the cache does not hold yet (a longer prefix extends it) and cache them all."""
    cached = _transfer_cache(task_id, teacher, splits)
    done = cached[0].shape[0] if cached else 0
    logits, meta = labeller.label(texts.texts[done:], "unlabelled sentences", progress)
    if cached:
        logits = torch.cat([cached[0], logits])
        meta.update(seconds=meta["seconds"] + cached[1]["seconds"], energy_wh=meta["energy_wh"] + cached[1]["energy_wh"],
                    sentences=len(texts))
    meta.update(data=texts.source, texts_hash=_texts_hash(texts.texts))
    save_tensors(transfer_logits_path(task_id, teacher, splits), {"logits": logits}, meta)
    return logits, meta


def _texts_hash(texts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
