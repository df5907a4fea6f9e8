"""The silhouette classes of the source set (issue 13), in the manner of
FractalDB (a class is one draw of a generator's parameters): a class is a
fixed arrangement of 2-5 filled primitives (ellipses, rectangles, triangles,
trapezoids), some cut out of the others, drawn from a generator seeded by
the class; an image of it jitters every primitive's place, size and angle.
Filled shapes with parts and holes, like clothes, shoes and bags seen
flat. make.py turns the shapes into images."""
import numpy as np
from PIL import Image, ImageDraw

CANVAS = 96  # side of the high-resolution drawing


def prototype(seed):
    """The class: a list of primitives (kind, centre, size, angle, cut), the first a large body."""
    rng = np.random.default_rng([seed, 0x5111])
    parts = []
    for i in range(int(rng.integers(2, 6))):
        parts.append({
            "kind": int(rng.integers(4)),
            "centre": [0.0, 0.0] if i == 0 else rng.uniform(-0.3, 0.3, 2).tolist(),
            "size": rng.uniform(0.35, 0.7, 2).tolist() if i == 0 else rng.uniform(0.1, 0.45, 2).tolist(),
            "angle": float(rng.uniform(0, np.pi)),
            "cut": bool(i > 0 and rng.random() < 0.25),
        })
    return parts


def outline(kind, w, h):
    """The primitive's vertices around the origin, unit = canvas side."""
    if kind == 0:
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        return np.stack([w / 2 * np.cos(t), h / 2 * np.sin(t)], 1)
    if kind == 1:
        return np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    if kind == 2:
        return np.array([[0, -h], [w, h], [-w, h]]) / 2
    return np.array([[-w / 4, -h / 2], [w / 4, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])


def shape(parts, rng):
    """One jittered drawing of the class, cropped to its ink (None if the cuts left nothing)."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(canvas)
    for p in parts:
        w, h = np.array(p["size"]) * np.exp(rng.normal(0, 0.1, 2))
        a = p["angle"] + rng.normal(0, 0.1)
        c = np.array(p["centre"]) + rng.normal(0, 0.03, 2)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        pts = (outline(p["kind"], w, h) @ rot.T + c + 0.5) * CANVAS
        draw.polygon([tuple(q) for q in pts], fill=0 if p["cut"] else 255)
    box = canvas.getbbox()
    return None if box is None else canvas.crop(box)
