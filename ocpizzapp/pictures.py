"""The demo menu's pictures, drawn here rather than downloaded: a pizza seen from above with its toppings, a
bottle or a can, a dessert on its plate. ``manage.py draw_pictures`` writes each in WebP at the widths the menu's
``srcset`` offers, under ``static/img/produits/``.

Each picture is drawn large then scaled down (smooth edges), and its toppings are placed by a generator seeded
with the product's name: the same product always looks the same.
"""

import math
import random
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

WIDTHS = (160, 320, 640)
CANVAS = 960
BACKGROUND = (255, 250, 243)  # the site's paper

# What a word of the description puts on the pizza: (colour, shape, how many).
TOPPINGS = {
    "jambon": ((226, 150, 150), "slice", 9),
    "jambon de parme": ((196, 92, 92), "slice", 8),
    "champignons": ((182, 150, 112), "mushroom", 10),
    "olives": ((40, 36, 34), "ring", 10),
    "anchois": ((120, 84, 62), "strip", 7),
    "basilic": ((58, 140, 64), "leaf", 7),
    "roquette": ((70, 130, 50), "leaf", 14),
    "chorizo": ((178, 48, 36), "disc", 11),
    "poivrons": ((60, 150, 70), "strip", 9),
    "oignons": ((160, 90, 150), "ring", 9),
    "artichauts": ((150, 160, 90), "leaf", 7),
    "thon": ((200, 170, 140), "flake", 12),
    "lardons": ((200, 110, 90), "cube", 16),
    "pommes de terre": ((236, 206, 120), "disc", 9),
    "tomates cerises": ((214, 50, 40), "disc", 10),
    "œuf": ((255, 255, 255), "egg", 1),
    "gorgonzola": ((210, 220, 200), "flake", 10),
    "chèvre": ((250, 248, 240), "disc", 8),
    "miel": ((232, 170, 40), "drizzle", 4),
    "parmesan": ((246, 226, 160), "flake", 12),
    "capres": ((90, 120, 50), "dot", 14),
    "câpres": ((90, 120, 50), "dot", 14),
}


def _toppings(description: str) -> Iterable[tuple[tuple[int, int, int], str, int]]:
    text = description.lower()
    return [spec for word, spec in TOPPINGS.items() if word in text]


def _scatter(rng: random.Random, count: int, radius: float) -> list[tuple[float, float]]:
    """``count`` points spread over a disc (golden-angle spiral, jittered): no two toppings pile up."""
    points = []
    for index in range(count):
        r = radius * math.sqrt((index + 0.5) / count) * rng.uniform(0.85, 1.0)
        angle = index * 2.39996 + rng.uniform(-0.3, 0.3)
        points.append((CANVAS / 2 + r * math.cos(angle), CANVAS / 2 + r * math.sin(angle)))
    return points


def _topping(image: Image.Image, rng: random.Random, x: float, y: float, colour, shape: str) -> None:
    draw = ImageDraw.Draw(image)
    size = rng.uniform(28, 40)
    if shape in ("disc", "slice"):
        w = size * (1.4 if shape == "slice" else 1)
        draw.ellipse(
            (x - w, y - size, x + w, y + size), fill=colour, outline=tuple(max(c - 40, 0) for c in colour), width=4
        )
    elif shape == "ring":
        draw.ellipse((x - size * 0.6, y - size * 0.6, x + size * 0.6, y + size * 0.6), outline=colour, width=12)
    elif shape == "mushroom":
        draw.pieslice((x - size, y - size, x + size, y + size), 180, 360, fill=colour)
        draw.rectangle(
            (x - size * 0.3, y, x + size * 0.3, y + size * 0.7), fill=tuple(min(c + 30, 255) for c in colour)
        )
    elif shape == "strip":
        angle = rng.uniform(0, math.pi)
        dx, dy = math.cos(angle) * size * 1.3, math.sin(angle) * size * 1.3
        draw.line((x - dx, y - dy, x + dx, y + dy), fill=colour, width=16)
    elif shape == "leaf":
        angle = rng.uniform(0, 360)
        leaf = Image.new("RGBA", (int(size * 3), int(size * 2)), (0, 0, 0, 0))
        ImageDraw.Draw(leaf).ellipse((0, size * 0.4, size * 3, size * 1.6), fill=(*colour, 255))
        leaf = leaf.rotate(angle, expand=True)
        image.paste(leaf, (int(x - leaf.width / 2), int(y - leaf.height / 2)), leaf)
    elif shape == "cube":
        s = size * 0.45
        draw.rectangle((x - s, y - s, x + s, y + s), fill=colour)
    elif shape == "flake":
        s = size * 0.6
        draw.polygon([(x - s, y), (x, y - s * 0.7), (x + s, y + s * 0.2), (x - s * 0.2, y + s * 0.8)], fill=colour)
    elif shape == "egg":
        draw.ellipse((x - 90, y - 75, x + 90, y + 75), fill=colour)
        draw.ellipse((x - 38, y - 38, x + 38, y + 38), fill=(245, 180, 40))
    elif shape == "dot":
        draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=colour)
    elif shape == "drizzle":
        points = [(x + i * 30 - 120, y + 40 * math.sin(i)) for i in range(9)]
        draw.line(points, fill=colour, width=9, joint="curve")


def draw_pizza(name: str, description: str) -> Image.Image:
    rng = random.Random(name)
    image = Image.new("RGB", (CANVAS, CANVAS), BACKGROUND)
    draw = ImageDraw.Draw(image)
    centre, crust = CANVAS / 2, CANVAS * 0.46
    draw.ellipse((centre - crust, centre - crust, centre + crust, centre + crust), fill=(214, 150, 80))
    # Charred spots on the rim, as a wood oven leaves them.
    for _ in range(40):
        angle, r = rng.uniform(0, 2 * math.pi), crust * rng.uniform(0.86, 0.98)
        x, y = centre + r * math.cos(angle), centre + r * math.sin(angle)
        spot = rng.uniform(6, 16)
        draw.ellipse((x - spot, y - spot, x + spot, y + spot), fill=(120, 70, 36))
    cream = description.lower().startswith("crème")
    sauce = crust * 0.84
    draw.ellipse(
        (centre - sauce, centre - sauce, centre + sauce, centre + sauce),
        fill=(246, 236, 214) if cream else (196, 48, 34),
    )
    for x, y in _scatter(rng, 26, sauce * 0.85):
        blob = rng.uniform(40, 70)
        draw.ellipse((x - blob, y - blob * 0.8, x + blob, y + blob * 0.8), fill=(250, 236, 190))
    for colour, shape, count in _toppings(description):
        positions = [(centre, centre)] if shape == "egg" else _scatter(rng, count, sauce * 0.8)
        for x, y in positions:
            _topping(image, rng, x, y, colour, shape)
    return image.filter(ImageFilter.SMOOTH)


def draw_drink(name: str) -> Image.Image:
    rng = random.Random(name)
    image = Image.new("RGB", (CANVAS, CANVAS), BACKGROUND)
    draw = ImageDraw.Draw(image)
    colour = {"coca": (190, 20, 30), "pellegrino": (40, 120, 80), "peroni": (30, 60, 140)}.get(
        next((key for key in ("coca", "pellegrino", "peroni") if key in name.lower()), ""),
        (230, 200, 60),
    )
    if "coca" in name.lower():  # a can
        draw.rounded_rectangle((330, 200, 630, 780), radius=40, fill=colour)
        draw.rectangle((330, 440, 630, 540), fill=(250, 250, 250))
    else:  # a bottle
        draw.rounded_rectangle((360, 360, 600, 820), radius=60, fill=colour)
        draw.polygon([(400, 370), (440, 200), (520, 200), (560, 370)], fill=colour)
        draw.rectangle((440, 150, 520, 210), fill=(200, 200, 200))
        draw.rectangle((360, 520, 600, 640), fill=(250, 246, 236))
    highlight = rng.uniform(0.3, 0.5)
    draw.line((390, 260, 390, 760), fill=tuple(min(int(c + 255 * highlight), 255) for c in colour), width=14)
    return image.filter(ImageFilter.SMOOTH)


def draw_dessert(name: str) -> Image.Image:
    image = Image.new("RGB", (CANVAS, CANVAS), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.ellipse((120, 160, 840, 880), fill=(255, 255, 255), outline=(225, 215, 200), width=10)  # the plate
    lowered = name.lower()
    if "tiramisu" in lowered:
        for index, colour in enumerate([(240, 225, 200), (120, 80, 50), (240, 225, 200), (110, 70, 40)]):
            draw.rectangle((290, 360 + index * 70, 670, 430 + index * 70), fill=colour)
        for x in range(300, 670, 40):
            draw.ellipse((x, 350, x + 18, 368), fill=(90, 55, 30))
    elif "panna" in lowered:
        draw.ellipse((300, 380, 660, 720), fill=(250, 244, 230))
        draw.ellipse((360, 430, 600, 620), fill=(180, 30, 60))
    else:
        draw.ellipse((310, 360, 650, 700), fill=(80, 45, 30))
        draw.ellipse((420, 470, 540, 590), fill=(110, 60, 38))
    return image.filter(ImageFilter.SMOOTH)


def pictures_write(*, folder: Path, products: Iterable[tuple[str, str, str, str]]) -> list[Path]:
    """Draw each (slug, name, category, description) and write it at every width of ``WIDTHS``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for slug, name, category, description in products:
        if category == "drink":
            image = draw_drink(name)
        elif category == "dessert":
            image = draw_dessert(name)
        else:
            image = draw_pizza(name, description)
        for width in WIDTHS:
            path = folder / f"{slug}-{width}.webp"
            image.resize((width, width), Image.Resampling.LANCZOS).save(path, "WEBP", quality=80, method=6)
            written.append(path)
    return written
