"""Image folders and tar archives laid out as ``[<top>/]<split>/<class>/<image>``, decoded to
arrays (e.g. ``cifar10-jpeg.tar``). Archives may be compressed (``.tar.gz``, ``.tar.xz``, …):
``xz`` takes ``cifar10-jpeg.tar`` from 93 MB to 19 MB, as the images' JPEG headers repeat.
Errors name the file and what is wrong with it."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gradjax.extras import require

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def _image_entries(path: Path) -> Iterator[tuple[tuple[str, ...], bytes]]:
    """Yields ``(path parts, file bytes)`` for every image under a directory or in a tar."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file():
                yield file.relative_to(path).parts, file.read_bytes()
        return
    if not tarfile.is_tarfile(path):
        raise ValueError(f"data_dir {str(path)!r} is neither a directory nor a tar archive.")
    member_name = "(its first entry)"
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                member_name = member.name
                if member.isfile() and Path(member.name).suffix.lower() in IMAGE_SUFFIXES:
                    yield Path(member.name).parts, tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as err:
        size = path.stat().st_size
        raise ValueError(
            f"tar archive {str(path)!r} ({size:,} bytes) is damaged or truncated: reading stopped "
            f"at or after {member_name!r} ({type(err).__name__}: {err}). Copy or download it "
            "again."
        ) from err


def read_image_folder(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple]:
    """Decodes ``[<top>/]<split>/<class>/<image>`` with splits ``train`` and ``test``.

    Returns:
      ``(train_images (N, H, W, C) uint8, train_labels (N,) int32, test_images, test_labels,
      class_names)``, labels indexing the sorted class names.

    Raises:
      ValueError: no images, a missing split, splits with different classes or image shapes,
        a damaged archive or an image that cannot be decoded (each names the file).
    """
    require("data", "reading image folders", ("PIL",))
    from PIL import Image

    grouped: dict[str, dict[str, list[np.ndarray]]] = {}
    for parts, data in _image_entries(path):
        if len(parts) < 3:
            continue
        split, cls = parts[-3], parts[-2]
        try:
            with Image.open(io.BytesIO(data)) as image:
                array = np.asarray(
                    image.convert("RGB") if image.mode not in ("L", "RGB") else image
                )
        except OSError as err:
            raise ValueError(
                f"{str(path)!r}: image {'/'.join(parts)!r} cannot be decoded: {err}"
            ) from err
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
    return (*arrays["train"], *arrays["test"], class_names)


__all__ = ["IMAGE_SUFFIXES", "read_image_folder"]
