"""Generates the source set of issue 13 offline: glyph classes (glyphs.py)
and silhouette classes (silhouettes.py), each image a random drawing of its
class's shape through render.py's distortions, as 28x28 grey images. Seeded:
image i of class k in split s comes from a generator seeded by
(seed, s, k, i), so the output depends only on the arguments and the
installed fonts (packages and versions are recorded).

    /usr/bin/python3 scripts/source/make.py OUT_DIR [--glyphs 128] [--silhouettes 127]
        [--train 500] [--test 50] [--textures 0.6] [--seed 0] [--workers 2] [--record FILE]

writes OUT_DIR/{train,test}-{images,labels}.idx.gz (IDX; labels are one byte,
so at most 256 classes: glyph classes first, then silhouettes),
OUT_DIR/classes.json and the record (arguments, counts, classes, packages,
font files, SHA-256 of every output file) to OUT_DIR/record.json and, with
--record, to FILE. Needs python3-pil, python3-numpy, python3-fonttools."""
import argparse
import json
import os
import sys
from multiprocessing import Pool

import numpy as np
from PIL import Image, features

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glyphs  # noqa: E402
import render  # noqa: E402
import silhouettes  # noqa: E402

SILHOUETTE_SEED = 1_000_000  # silhouette class j is prototype(SILHOUETTE_SEED + j), whatever --seed is


def render_class(job):
    seed, split, label, cls, count, textures = job
    out = np.empty((count, render.SIZE, render.SIZE), np.uint8)
    parts = silhouettes.prototype(SILHOUETTE_SEED + cls["index"]) if cls["family"] == "silhouette" else None
    for i in range(count):
        rng = np.random.default_rng([seed, split, label, i])
        while True:  # a silhouette whose cuts removed everything is drawn again (the generator moves on)
            shape = glyphs.shape(cls["fonts"], cls["char"], rng) if parts is None else silhouettes.shape(parts, rng)
            if shape is not None:
                break
        out[i] = render.finish(shape, rng, textures)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--glyphs", type=int, default=128, help="glyph classes")
    ap.add_argument("--silhouettes", type=int, default=127, help="silhouette classes")
    ap.add_argument("--train", type=int, default=500, help="images per class in the training split")
    ap.add_argument("--test", type=int, default=50, help="images per class in the held-out split")
    ap.add_argument("--textures", type=float, default=0.6, help="probability that an image's ink carries a texture")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--record")
    args = ap.parse_args()
    total = args.glyphs + args.silhouettes
    if not 2 <= total <= 256:
        sys.exit("--glyphs + --silhouettes must be 2..256 (IDX labels are one byte)")
    packages, chosen = glyphs.glyph_classes(args.glyphs) if args.glyphs else ({}, [])
    classes = [dict(c, family="glyph") for c in chosen] + [{"family": "silhouette", "index": j} for j in range(args.silhouettes)]
    os.makedirs(args.out, exist_ok=True)
    files = {}
    with Pool(args.workers) as pool:
        for split_id, (split, per) in enumerate((("train", args.train), ("test", args.test))):
            jobs = [(args.seed, split_id, k, c, per, args.textures) for k, c in enumerate(classes)]
            images = np.concatenate(pool.map(render_class, jobs))
            labels = np.repeat(np.arange(total, dtype=np.uint8), per)
            for kind, arr in (("images", images), ("labels", labels)):
                name = f"{split}-{kind}.idx.gz"
                render.write_idx(os.path.join(args.out, name), arr)
                files[name] = render.sha256(os.path.join(args.out, name))
    names = [c["char"] if c["family"] == "glyph" else f"silhouette-{c['index']}" for c in classes]
    with open(os.path.join(args.out, "classes.json"), "w") as f:
        json.dump(names, f, ensure_ascii=False)
    used = sorted({p for c in chosen for p in c["fonts"]})
    record = {
        "generator": "scripts/source/make.py",
        "command": " ".join(["/usr/bin/python3", "scripts/source/make.py", "OUT"] + sys.argv[2:]),
        "arguments": {k: v for k, v in vars(args).items() if k not in ("out", "record", "workers")},
        "size": [render.SIZE, render.SIZE],
        "counts": {"classes": total, "glyphClasses": args.glyphs, "silhouetteClasses": args.silhouettes,
                   "trainPerClass": args.train, "testPerClass": args.test, "train": args.train * total, "test": args.test * total},
        "scripts": {s: sum(c.get("script") == s for c in chosen) for s, _ in glyphs.SCRIPTS},
        "packages": packages,
        "pillow": Image.__version__,
        "freetype": features.version("freetype2"),
        "numpy": np.__version__,
        "fontFiles": len(used),
        "sha256": files,
        "glyphClasses": [{k: c[k] for k in ("char", "codepoint", "script", "name")} | {"fonts": len(c["fonts"])} for c in chosen],
        "silhouetteClasses": f"silhouette-j is silhouettes.prototype({SILHOUETTE_SEED} + j), j = 0..{args.silhouettes - 1}",
        "fonts": used,
    }
    text = json.dumps(record, indent=1, ensure_ascii=False) + "\n"
    for path in [os.path.join(args.out, "record.json")] + ([args.record] if args.record else []):
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    print(json.dumps(record["counts"]), json.dumps(record["scripts"]), "font files", len(used))


if __name__ == "__main__":
    main()
