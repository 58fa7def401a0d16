"""Fashion-MNIST (Zalando, MIT licence), from Debian's `dataset-fashion-mnist` package: 28x28 grey product
photos in 10 classes, 60,000 for training and 10,000 for testing, read from its idx files (gzip) with numpy.

Splits, fixed seed: 5,000 of the 60,000 training images validate (stratified), the other 55,000 train; the
10,000 test images are the test set and never train or calibrate anything. The few-labels variant keeps 1,000
stratified training images (100 per class) and 500 validation images, as a team with a small labelled set has.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.registry.errors import NotInstalledError
from engine.registry.tasks import FASHION_CLASSES

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_INSTALL = "sudo apt-get install dataset-fashion-mnist   (Debian; scripts/setup.sh does it)"
VALIDATION_SIZE = 5000
FEW_TRAIN, FEW_VALIDATION = 1000, 500
SOURCE = "Fashion-MNIST (Debian dataset-fashion-mnist)"


@dataclass(frozen=True)
class LabelledImages:
    images: np.ndarray  # (n, 28, 28) uint8, 0 = black background
    labels: tuple[int, ...]
    source: str
    label_names: tuple[str, ...] = FASHION_CLASSES

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def texts(self) -> list[np.ndarray]:
        """The inputs as the task seam serves them: one (28, 28) uint8 image per item."""
        return list(self.images)

    def sample(self, n: int, seed: int = 0) -> LabelledImages:
        """min(n, len) items; the same seed gives the same items, a smaller n a subset of a larger one."""
        order = np.random.default_rng(seed).permutation(len(self))[: max(0, min(n, len(self)))]
        return self.take(order, f"{self.source}, sample of {len(order)} (seed {seed})")

    def take(self, indices: np.ndarray, source: str) -> LabelledImages:
        return LabelledImages(self.images[indices], tuple(int(self.labels[i]) for i in indices), source,
                              self.label_names)


@dataclass(frozen=True)
class ImageSplits:
    train: LabelledImages
    validation: LabelledImages
    test: LabelledImages


def _idx(path: Path) -> np.ndarray:
    """An idx file (LeCun's MNIST format): magic (dtype, ndim), big-endian dimensions, then the data."""
    if not path.is_file():
        raise NotInstalledError(f"Fashion-MNIST is not installed ({path} is missing). Install it with: "
                                f"{FASHION_INSTALL}")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@functools.lru_cache(maxsize=2)
def _fashion(part: str, folder: str = str(FASHION_DIR)) -> LabelledImages:
    images = _idx(Path(folder) / f"{part}-images-idx3-ubyte.gz")
    labels = _idx(Path(folder) / f"{part}-labels-idx1-ubyte.gz")
    return LabelledImages(images, tuple(int(y) for y in labels), f"{SOURCE}, {part} file")


def _stratified(labels: tuple[int, ...], size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` indices with the classes in equal shares (Fashion-MNIST is balanced), shuffled."""
    y = np.asarray(labels)
    classes = np.unique(y)
    per_class = size // len(classes)
    picked = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:per_class] for c in classes])
    return rng.permutation(picked)


def fashion_splits(seed: int = 0) -> ImageSplits:
    train = _fashion("train")
    rng = np.random.default_rng(seed)
    validation = _stratified(train.labels, VALIDATION_SIZE, rng)
    rest = np.setdiff1d(np.arange(len(train)), validation)
    return ImageSplits(train.take(rng.permutation(rest), f"{SOURCE}: 55,000 training images (seed {seed})"),
                       train.take(validation, f"{SOURCE}: 5,000 validation images (seed {seed})"),
                       fashion_test(seed))


def few_label_splits(seed: int = 0) -> ImageSplits:
    """1,000 training and 500 validation images drawn from the full task's own splits (same seed)."""
    full = fashion_splits(seed)
    rng = np.random.default_rng(seed + 1)
    train = full.train.take(_stratified(full.train.labels, FEW_TRAIN, rng),
                            f"{SOURCE}: 1,000 labelled training images (seed {seed})")
    validation = full.validation.take(_stratified(full.validation.labels, FEW_VALIDATION, rng),
                                      f"{SOURCE}: 500 validation images (seed {seed})")
    return ImageSplits(train, validation, full.test)


def fashion_test(seed: int = 0) -> LabelledImages:
    test = _fashion("t10k")
    return LabelledImages(test.images, test.labels, f"{SOURCE}: the 10,000 test images")


def few_label_transfer(seed: int = 0) -> LabelledImages:
    """Training images outside the few-labels task's 1,000, for a teacher to label (their labels are never read)."""
    full, few = fashion_splits(seed), few_label_splits(seed)
    taken = {arr.tobytes() for arr in few.train.images}
    rest = np.array([i for i, image in enumerate(full.train.images[:20000]) if image.tobytes() not in taken])
    return full.train.take(rest, f"{SOURCE}: unlabelled training images for the teacher (seed {seed})")
