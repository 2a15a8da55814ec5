"""Verification inputs from image files, preprocessed the way Caffe's transformer does.

The order is that of ``caffe.io.Transformer.preprocess`` and of ``data_transformer.cpp``:

1. load the image as RGB (or grayscale for a one-channel input), pixel values 0..255;
2. resize to ``resize`` (default: the input's H, W), bilinear;
3. reorder the channels to the order the net expects (``bgr``, Caffe's usual, or ``rgb``);
4. subtract ``mean`` (one value per channel, in the net's channel order, or one for all);
5. multiply by ``scale``.

The result is NCHW float32, one sample per image, in the order the images were given. Pillow is
imported only here, and only when an image is actually loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caffe2keras.errors import UsageError, ValidationError

CHANNEL_ORDERS = ("bgr", "rgb")


@dataclass(frozen=True)
class ImageOptions:
    """Image inputs and their preprocessing. ``paths`` maps an input name ("" = the net's only
    input) to its image files; every image of one input becomes one sample of its batch."""

    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mean: tuple[float, ...] = ()
    scale: float = 1.0
    channel_order: str = "bgr"
    resize: tuple[int, int] | None = None


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    """``"103.94,116.78,123.68"`` -> a tuple of floats; a UsageError naming ``what`` if not."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{what} expects comma-separated numbers, got '{text}'") from None
    return values


def parse_resize(text: str) -> tuple[int, int]:
    """``"224,224"`` -> (224, 224); a UsageError unless two positive integers."""
    try:
        h, w = (int(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--resize expects H,W (two positive integers), got '{text}'") from None
    if h <= 0 or w <= 0:
        raise UsageError(f"--resize expects H,W (two positive integers), got '{text}'")
    return h, w


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise UsageError(
            "--image needs Pillow, which is not installed: pip install 'caffe2keras[image]'"
        ) from None
    return Image


def load_image(path: str, channels: int, size: tuple[int, int]) -> np.ndarray:
    """One image as a (channels, H, W) float32 array in RGB (or gray) order, values 0..255."""
    image_mod = _pillow()
    if channels not in (1, 3):
        raise UsageError(f"--image needs an input with 1 or 3 channels, this one has {channels}")
    try:
        with image_mod.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            if img.size != (size[1], size[0]):  # Pillow sizes are (W, H)
                img = img.resize((size[1], size[0]), image_mod.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32)
    except OSError as exc:
        raise UsageError(f"cannot read image '{path}': {exc}") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def preprocess(
    rgb: np.ndarray, mean: Sequence[float], scale: float, channel_order: str
) -> np.ndarray:
    """Channel reorder, mean subtraction, scaling of one (C, H, W) RGB/gray image."""
    if channel_order not in CHANNEL_ORDERS:
        raise UsageError(f"--channel-order must be one of {', '.join(CHANNEL_ORDERS)}")
    x = rgb[::-1] if channel_order == "bgr" and rgb.shape[0] == 3 else rgb
    if mean:
        if len(mean) not in (1, x.shape[0]):
            raise UsageError(f"--mean has {len(mean)} values, the input has {x.shape[0]} channels")
        x = x - np.asarray(mean, np.float32).reshape(-1, 1, 1)
    return np.ascontiguousarray(x * np.float32(scale), dtype=np.float32)


def _target(name: str, shapes: dict[str, tuple[int, ...]]) -> str:
    if name:
        if name not in shapes:
            raise UsageError(
                f"--image names '{name}', which is not an input of the net "
                f"(inputs: {', '.join(shapes)})"
            )
        return name
    if len(shapes) != 1:
        raise UsageError(
            f"the net has {len(shapes)} inputs ({', '.join(shapes)}): "
            "name the one each image feeds with --image NAME=PATH"
        )
    return next(iter(shapes))


def image_inputs(
    options: ImageOptions, shapes: dict[str, tuple[int, ...]]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The NCHW batches for the inputs that have images, and the preprocessing record.

    ``shapes`` maps each net input (Caffe name) to its NCHW shape.
    """
    arrays: dict[str, np.ndarray] = {}
    files: dict[str, list[str]] = {}
    grouped: dict[str, list[str]] = {}
    for name, given in options.paths.items():
        grouped.setdefault(_target(name, shapes), []).extend(given)
    for target, paths in grouped.items():
        shape = shapes[target]
        if len(shape) != 4:
            raise ValidationError(
                f"--image feeds input '{target}', which is not 4-D ({list(shape)})", field="input"
            )
        size = options.resize or (shape[2], shape[3])
        batch = [
            preprocess(
                load_image(p, shape[1], size), options.mean, options.scale, options.channel_order
            )
            for p in paths
        ]
        arrays[target] = np.stack(batch)
        files[target] = [os.fspath(p) for p in paths]
    info: dict[str, Any] = {
        "source": "image",
        "images": files,
        "preprocessing": {
            "order": ["resize", "channel order", "subtract mean", "multiply scale"],
            "pixel_range": "0..255",
            "resize": {k: list(v.shape[2:]) for k, v in arrays.items()},
            "interpolation": "bilinear",
            "channel_order": options.channel_order,
            "mean": list(options.mean),
            "scale": options.scale,
        },
    }
    return arrays, info


def apply_images(
    inputs: dict[str, np.ndarray], info: dict[str, Any], options: ImageOptions, graph: Any
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``inputs`` (NCHW by Caffe input name) with the image batches in place of their inputs.

    Inputs without images keep their values, redrawn (seeded) at the images' batch size when it
    differs, so every input of the net has the same batch.
    """
    shapes = {graph.caffe_name(s.name): tuple(s.shape) for s in graph.inputs}
    arrays, image_info = image_inputs(options, shapes)
    out = dict(inputs)
    for name, arr in arrays.items():
        if arr.shape[1:] != shapes[name][1:]:
            raise ValidationError(
                f"the images for input '{name}' are {list(arr.shape[1:])} after preprocessing, "
                f"the net expects {list(shapes[name][1:])} (see --resize and --input-shape)",
                field="input",
            )
        out[name] = arr
    batches = {len(a) for a in arrays.values()}
    if len(batches) > 1:
        raise UsageError("every input fed with --image needs the same number of images")
    batch = batches.pop()
    rng = np.random.default_rng(int(info.get("seed", 0)))
    files = info.get("files", {})
    for name, arr in out.items():
        if name in arrays or len(arr) == batch:
            continue
        if name in files:
            raise UsageError(
                f"input '{name}' from '{files[name]}' has batch {len(arr)}, "
                f"the images make a batch of {batch}"
            )
        out[name] = rng.standard_normal((batch, *arr.shape[1:])).astype(np.float32)
    merged = {**info, **image_info, "batch": batch}
    if len(arrays) < len(out):
        merged["source"] = "image + " + str(info.get("source", "random normal"))
    else:
        merged.pop("seed", None)  # nothing random left
    return out, merged


def image_options(
    images: Sequence[str],
    mean: str | None = None,
    scale: float | None = None,
    channel_order: str | None = None,
    resize: str | None = None,
) -> ImageOptions | None:
    """The CLI's ``--image [NAME=]PATH`` (repeatable), ``--mean``, ``--scale``,
    ``--channel-order`` and ``--resize`` as options (None without images)."""
    if not images:
        given = [
            flag
            for flag, value in (
                ("--mean", mean),
                ("--scale", scale),
                ("--channel-order", channel_order),
                ("--resize", resize),
            )
            if value is not None
        ]
        if given:
            raise UsageError(f"{', '.join(given)} only apply to --image inputs")
        return None
    paths: dict[str, tuple[str, ...]] = {}
    for text in images:
        name, sep, path = text.rpartition("=")
        if not sep or not name or os.path.exists(text):  # a path with '=' in it is a path
            name, path = "", text
        if not os.path.isfile(path):
            raise UsageError(f"--image: no such file '{path}'")
        paths[name] = (*paths.get(name, ()), path)
    return ImageOptions(
        paths=paths,
        mean=parse_floats(mean, "--mean") if mean is not None else (),
        scale=1.0 if scale is None else float(scale),
        channel_order=channel_order or "bgr",
        resize=parse_resize(resize) if resize is not None else None,
    )
