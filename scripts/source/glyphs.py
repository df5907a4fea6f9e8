"""The glyph classes of the source set (issue 13): characters of many
scripts, one class per distinct shape, drawn from the fonts of named Debian
packages (their versions are recorded). A class is a character drawn by at
least MIN_FONTS font files; characters whose renderings look alike (Latin A,
Greek Alpha, Cyrillic A) count once; classes are taken round-robin over the
scripts. make.py turns the shapes into images."""
import os
import subprocess
import unicodedata

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

RENDER = 64  # font size of the high-resolution rendering every distortion starts from
FONT_PACKAGES = [
    "fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation", "fonts-liberation2", "fonts-freefont-ttf",
    "fonts-urw-base35", "fonts-texgyre", "fonts-noto-core", "fonts-roboto-unhinted", "fonts-open-sans", "fonts-lato",
    "fonts-crosextra-carlito", "fonts-crosextra-caladea", "fonts-cantarell", "fonts-sil-charis",
    "fonts-linuxlibertine", "fonts-ebgaramond",
]
# Fonts of symbols, not letters: their "glyphs" for letters are pictures (LinBiolinum_K draws keyboard keys).
EXCLUDED_FONTS = ("Symbol", "Dingbat", "D050000L", "StandardSymbols", "Emoji", "Math", "Music", "LinBiolinum_K")
# (script, code point ranges): letters and digits; one class per character.
SCRIPTS = [
    ("latin", [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)]),
    ("greek", [(0x391, 0x3A9), (0x3B1, 0x3C9)]),
    ("cyrillic", [(0x410, 0x44F)]),
    ("armenian", [(0x531, 0x556), (0x561, 0x586)]),
    ("hebrew", [(0x5D0, 0x5EA)]),
    ("arabic", [(0x627, 0x64A)]),
    ("devanagari", [(0x905, 0x939)]),
    ("bengali", [(0x985, 0x9B9)]),
    ("gujarati", [(0xA85, 0xAB9)]),
    ("tamil", [(0xB85, 0xBB9)]),
    ("telugu", [(0xC05, 0xC39)]),
    ("kannada", [(0xC85, 0xCB9)]),
    ("thai", [(0xE01, 0xE2E)]),
    ("georgian", [(0x10D0, 0x10FA)]),
    ("ethiopic", [(0x1200, 0x1357)]),
    ("cherokee", [(0x13A0, 0x13F4)]),
    ("canadian", [(0x1401, 0x166C)]),
    ("khmer", [(0x1780, 0x17B3)]),
]
MIN_FONTS = 4  # a class needs at least this many font files that draw it
SIMILAR = 0.9  # two characters whose canonical renderings correlate above this are one shape: keep the first


def package_fonts(package):
    """The package's version and its font files (TrueType/OpenType), sorted."""
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=True).stdout
    listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout.split("\n")
    files = sorted(p for p in listing if p.lower().endswith((".ttf", ".otf")) and os.path.isfile(p))
    return version, [f for f in files if not any(x in os.path.basename(f) for x in EXCLUDED_FONTS)]


_FONTS = {}


def font_at(path):
    """The font at RENDER size, loaded once per process."""
    if path not in _FONTS:
        _FONTS[path] = ImageFont.truetype(path, RENDER)
    return _FONTS[path]


def render(font, ch, stroke=0):
    """The character drawn white on black at RENDER size, cropped to its ink; None when the font draws nothing."""
    canvas = Image.new("L", (3 * RENDER, 3 * RENDER), 0)
    ImageDraw.Draw(canvas).text((1.5 * RENDER, 1.5 * RENDER), ch, font=font, fill=255, anchor="mm", stroke_width=stroke, stroke_fill=255)
    box = canvas.getbbox()
    if box is None or box[2] - box[0] < 3 or box[3] - box[1] < 3:
        return None
    return canvas.crop(box)


def canonical(fonts, ch):
    """Mean of the character's renderings in up to 4 of its fonts, fitted into 16x16: its shape, for deduplication."""
    acc = np.zeros((16, 16))
    for path in fonts[:4]:
        glyph = render(font_at(path), ch)
        scale = 16 / max(glyph.size)
        small = glyph.resize((max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))), Image.LANCZOS)
        square = Image.new("L", (16, 16), 0)
        square.paste(small, ((16 - small.width) // 2, (16 - small.height) // 2))
        acc += np.asarray(square, dtype=np.float64)
    v = acc.ravel() - acc.mean()
    return v / (np.linalg.norm(v) + 1e-9)


def draws(path, ch):
    """Whether the font maps the character and draws ink for it."""
    try:
        return render(font_at(path), ch) is not None
    except OSError:
        return False


def choose_classes(fonts, count):
    """Characters drawn by >= MIN_FONTS fonts, one per distinct shape, taken round-robin over scripts."""
    cmaps = {}
    for path in fonts:
        try:
            cmaps[path] = set(TTFont(path, fontNumber=0, lazy=True).getBestCmap() or {})
        except Exception:  # a font fontTools cannot read is not used
            cmaps[path] = set()
    per_script = []
    for script, ranges in SCRIPTS:
        chars = []
        for lo, hi in ranges:
            for cp in range(lo, hi + 1):
                ch = chr(cp)
                if not unicodedata.category(ch).startswith(("L", "N")):
                    continue
                have = [p for p in fonts if cp in cmaps[p] and draws(p, ch)]
                if len(have) >= MIN_FONTS:
                    chars.append((ch, have))
        per_script.append((script, chars))
    chosen, shapes = [], []
    depth = 0
    while len(chosen) < count and any(depth < len(chars) for _, chars in per_script):
        for script, chars in per_script:
            if depth < len(chars) and len(chosen) < count:
                ch, have = chars[depth]
                shape = canonical(have, ch)
                if all(float(shape @ s) < SIMILAR for s in shapes):
                    chosen.append({"char": ch, "codepoint": f"U+{ord(ch):04X}", "script": script, "name": unicodedata.name(ch, ""), "fonts": have})
                    shapes.append(shape)
        depth += 1
    return chosen


def shape(fonts, ch, rng):
    """The character in a random one of its fonts and a random stroke weight, high resolution, cropped to its ink."""
    path = fonts[rng.integers(len(fonts))]
    stroke = int(rng.choice([0, 0, 1, 2, 3, 4, 6]))  # 6 at RENDER size fills most counters: silhouettes
    return render(font_at(path), ch, stroke)


def glyph_classes(count):
    """(packages with versions, `count` classes: char, codepoint, script, name, fonts)."""
    packages, fonts = {}, []
    for p in FONT_PACKAGES:
        packages[p], files = package_fonts(p)
        fonts += files
    chosen = choose_classes(fonts, count)
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} distinct characters are drawn by >= {MIN_FONTS} fonts; ask for fewer glyph classes")
    return packages, chosen
