"""What every class family of the source set shares: a shape drawn white on
black at high resolution (a PIL "L" image cropped to its ink) becomes a 28x28
grey image through a random affine map (rotation, shear, aspect), a random
size and position, a random ink level and surface texture, blur and noise.
Bright on black, like Fashion-MNIST."""
import gzip
import hashlib
import os
import struct

import numpy as np
from PIL import Image, ImageFilter

SIZE = 28


def affine_about_centre(image, rng):
    """Random rotation (+-20 degrees), shear (+-0.3) and aspect (x0.78..1.28) about the image centre, cropped to the ink."""
    angle = np.deg2rad(rng.uniform(-20, 20))
    shear = rng.uniform(-0.3, 0.3)
    aspect = np.exp(rng.uniform(-0.25, 0.25))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = rot @ np.array([[1, shear], [0, 1]]) @ np.diag([aspect, 1 / aspect])
    side = int(2 * max(image.size)) + 4
    canvas = Image.new("L", (side, side), 0)
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    inverse = np.linalg.inv(forward)
    c = side / 2
    offset = np.array([c, c]) - inverse @ np.array([c, c])
    coeffs = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    out = canvas.transform((side, side), Image.AFFINE, coeffs, resample=Image.BICUBIC)
    return out.crop(out.getbbox())


def place(shape, rng):
    """The shape's longer side scaled to 16..27 pixels, put near the centre (+-3 px) of a 28x28 canvas; values in [0, 1]."""
    scale = rng.uniform(16, 27) / max(shape.size)
    w, h = max(1, round(shape.width * scale)), max(1, round(shape.height * scale))
    small = np.asarray(shape.resize((w, h), Image.LANCZOS), dtype=np.float64) / 255
    img = np.zeros((SIZE, SIZE))
    x0 = int(np.clip((SIZE - w) // 2 + rng.integers(-3, 4), 0, SIZE - w))
    y0 = int(np.clip((SIZE - h) // 2 + rng.integers(-3, 4), 0, SIZE - h))
    img[y0:y0 + h, x0:x0 + w] = small
    return img


def surface(rng, textures):
    """The ink's brightness over the canvas: a level, and with probability `textures` a pattern
    (shading ramp, stripes, checks or blotches) that darkens parts of it."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1) - 0.5
    level = rng.uniform(0.45, 1.0)
    if rng.random() >= textures:
        return np.full((SIZE, SIZE), level)
    t = rng.uniform(0, 2 * np.pi)
    along = np.cos(t) * xx + np.sin(t) * yy
    kind = rng.integers(4)
    if kind == 0:  # shading
        pattern = (along - along.min()) / (np.ptp(along) + 1e-9)
    elif kind == 1:  # stripes, 2..9 cycles across the canvas
        pattern = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 9) * along + rng.uniform(0, 2 * np.pi))
    elif kind == 2:  # checks
        f = rng.uniform(2, 6)
        across = -np.sin(t) * xx + np.cos(t) * yy
        pattern = (np.floor(f * (along + 1)) + np.floor(f * (across + 1))) % 2
    else:  # blotches: coarse noise, smoothly upsampled
        coarse = rng.random((rng.integers(3, 8),) * 2)
        pattern = np.asarray(Image.fromarray(np.uint8(coarse * 255)).resize((SIZE, SIZE), Image.BICUBIC), dtype=np.float64) / 255
    return level * (1 - rng.uniform(0.2, 0.6) * pattern)


def finish(shape, rng, textures):
    """The high-resolution shape as one 28x28 uint8 image."""
    img = place(affine_about_centre(shape, rng), rng) * surface(rng, textures)
    if rng.random() < 0.5:
        img = np.asarray(Image.fromarray(np.uint8(np.round(img * 255))).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0))), dtype=np.float64) / 255
    if rng.random() < 0.5:  # noise on the ink only: Fashion-MNIST's background is black
        img = np.where(img > 0.02, img + rng.normal(0, rng.uniform(0.02, 0.08), img.shape), img)
    return np.uint8(np.round(np.clip(img, 0, 1) * 255))


def write_idx(path, array):
    """An unsigned-byte IDX file, gzipped (fixed mtime, so equal content gives equal bytes), written atomically."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with open(path + ".tmp", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as f:
        f.write(header + array.tobytes())
    os.replace(path + ".tmp", path)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
