"""Writes the embedded default target set: Fashion-MNIST classes 5-9
relabelled 0-4, PER_TRAIN training and PER_TEST test images per class, drawn
with a seed, as gzipped IDX files plus their class names.
    /usr/bin/python3 scripts/backbone/target_set.py OUT_DIR [PER_TRAIN PER_TEST SEED]"""
import gzip
import json
import os
import struct
import sys

import numpy as np

SOURCE = "/usr/share/datasets/fashion-mnist"
CLASSES = [5, 6, 7, 8, 9]
NAMES = ["sandal", "shirt", "sneaker", "bag", "ankle boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with open(path + ".tmp", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(header + array.astype(np.uint8).tobytes())
    os.replace(path + ".tmp", path)


def draw(split, per_class, rng):
    images = read_idx(f"{SOURCE}/{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{SOURCE}/{split}-labels-idx1-ubyte.gz")
    picked = np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in CLASSES])
    picked.sort()
    relabel = {c: i for i, c in enumerate(CLASSES)}
    return images[picked], np.array([relabel[int(l)] for l in labels[picked]], dtype=np.uint8)


if __name__ == "__main__":
    out = sys.argv[1]
    per_train, per_test, seed = (int(a) for a in (sys.argv[2:5] or ["60", "100", "0"]))
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, name, n in (("train", "train", per_train), ("t10k", "test", per_test)):
        images, labels = draw(split, n, rng)
        write_idx(f"{out}/{name}-images.idx.gz", images)
        write_idx(f"{out}/{name}-labels.idx.gz", labels)
    with open(f"{out}/classes.json", "w") as f:
        json.dump(NAMES, f)
