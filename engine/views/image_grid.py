"""Sample test images with each variant's answer, as one PNG (PIL): people would rather look than read.

Each tile: the image (scaled up), its true label, then one line per variant, green when right, red when wrong.
Only variants scored on the same sample images are shown together (same test set, seed and sample size).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from engine.record import TrialRecord
from engine.summary.labels import short_technique

SCALE = 3
TILE_W = 240
LINE_H = 13
COLUMNS = 6
RIGHT, WRONG, INK = (22, 128, 58), (200, 30, 30), (20, 20, 20)


def shown_records(records: Sequence[TrialRecord], max_variants: int = 6) -> list[TrialRecord]:
    """ok records that kept sample predictions on the same images as the first such record."""
    # image samples are a dict of test indices and answers (a generation record's are a list of texts)
    with_samples = [r for r in records if r.status == "ok" and isinstance((r.quality_extras or {}).get("samples"), dict)]
    if not with_samples:
        return []
    first = with_samples[0]
    same = [r for r in with_samples if r.test_set == first.test_set
            and r.quality_extras["samples"]["test_index"] == first.quality_extras["samples"]["test_index"]]
    return same[:max_variants]


def sample_grid_png(images: np.ndarray, true: Sequence[int], answers: dict[str, Sequence[int]],
                    label_names: Sequence[str], columns: int = COLUMNS) -> bytes:
    """A PNG grid: images (n, 28, 28) uint8, their true classes, and {variant: predicted classes}."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=11)
    side = images.shape[1] * SCALE
    tile_h = side + LINE_H * (len(answers) + 1) + 10
    rows = -(-len(images) // columns)
    canvas = Image.new("RGB", (TILE_W * min(columns, len(images)), tile_h * rows), "white")
    draw = ImageDraw.Draw(canvas)
    for i, image in enumerate(images):
        x, y = (i % columns) * TILE_W, (i // columns) * tile_h
        photo = Image.fromarray(255 - np.asarray(image, dtype=np.uint8)).resize((side, side), Image.NEAREST)
        canvas.paste(photo, (x + (TILE_W - side) // 2, y + 2))
        line = y + side + 4
        draw.text((x + 4, line), f"true: {label_names[true[i]]}", fill=INK, font=font)
        for variant, predicted in answers.items():
            line += LINE_H
            right = predicted[i] == true[i]
            draw.text((x + 4, line), f"{variant}: {label_names[predicted[i]]}", fill=RIGHT if right else WRONG,
                      font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def records_grid_png(records: Sequence[TrialRecord]) -> bytes | None:
    """The grid for the records' sample images (read from the task's test set), or None when none kept any."""
    from engine.registry import get_task, test_data

    shown = shown_records(records)
    if not shown:
        return None
    first = shown[0]
    task = get_task(first.task)
    samples = first.quality_extras["samples"]
    data = test_data(task, first.test_set, first.seed)
    answers = {f"{r.model} {short_technique(r.technique)}": r.quality_extras["samples"]["predicted"] for r in shown}
    return sample_grid_png(data.images[np.asarray(samples["test_index"])], samples["true"], answers, task.labels)
