"""Product pictures for the demo catalogue, drawn here with Pillow (nothing is downloaded):
a bottle, a jar, a pouch of sachets, a box, a shaker, a diffuser — each on a soft backdrop
with the product's own colours and a label, so the catalogue looks like a shop's."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = 640


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def _backdrop(colour: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (250, 248, 245))
    draw = ImageDraw.Draw(image)
    light = tuple(min(255, c + (255 - c) * 3 // 4) for c in colour)
    draw.ellipse((60, 60, SIZE - 60, SIZE - 60), fill=light)
    return image


def _shadow(image: Image.Image, box: tuple[int, int, int, int]) -> None:
    shadow = Image.new("L", image.size, 0)
    ImageDraw.Draw(shadow).ellipse(box, fill=90)
    shadow = shadow.filter(ImageFilter.GaussianBlur(14))
    image.paste((150, 140, 130), mask=shadow)


def _label(draw, box, text: str, colour, ink=(255, 255, 255), size=40) -> None:
    draw.rounded_rectangle(box, radius=12, fill=colour)
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (box[0] + box[2] - (right - left)) / 2
    y = (box[1] + box[3] - (bottom - top)) / 2 - top
    draw.text((x, y), text, fill=ink, font=font)


def _bottle(draw, colour, text) -> None:
    draw.rounded_rectangle((230, 110, 410, 170), radius=14, fill=(60, 60, 60))  # cap
    draw.rectangle((255, 160, 385, 200), fill=(235, 235, 235))  # neck
    draw.rounded_rectangle((190, 190, 450, 540), radius=48, fill=(245, 245, 245), outline=(200, 200, 200), width=4)
    _label(draw, (205, 300, 435, 440), text, colour)


def _jar(draw, colour, text) -> None:
    draw.rounded_rectangle((180, 170, 460, 230), radius=16, fill=colour)
    draw.rounded_rectangle((160, 220, 480, 540), radius=40, fill=(250, 250, 250), outline=(205, 205, 205), width=4)
    _label(draw, (180, 320, 460, 440), text, colour)


def _pouch(draw, colour, text) -> None:
    draw.polygon([(190, 130), (450, 130), (470, 540), (170, 540)], fill=colour)
    draw.rectangle((190, 130, 450, 160), fill=tuple(max(0, c - 40) for c in colour))
    for x in range(200, 445, 14):
        draw.line((x, 130, x, 160), fill=(255, 255, 255), width=3)
    _label(draw, (205, 300, 435, 420), text, (255, 255, 255), ink=colour)


def _box(draw, colour, text) -> None:
    dark = tuple(max(0, c - 50) for c in colour)
    draw.polygon([(150, 230), (390, 230), (490, 170), (250, 170)], fill=tuple(min(255, c + 30) for c in colour))
    draw.polygon([(390, 230), (490, 170), (490, 450), (390, 520)], fill=dark)
    draw.rectangle((150, 230, 390, 520), fill=colour)
    draw.rectangle((255, 230, 285, 520), fill=(255, 215, 90))  # ribbon
    _label(draw, (165, 330, 375, 420), text, (255, 255, 255), ink=colour, size=34)


def _shaker(draw, colour, text) -> None:
    draw.rounded_rectangle((245, 90, 395, 150), radius=10, fill=(70, 70, 70))
    draw.rounded_rectangle((215, 140, 425, 200), radius=12, fill=colour)
    draw.polygon([(215, 200), (425, 200), (400, 540), (240, 540)], fill=(230, 240, 248), outline=(170, 190, 205))
    for y in range(260, 520, 60):
        draw.line((250, y, 280, y), fill=(150, 170, 190), width=4)
    _label(draw, (245, 360, 395, 440), text, colour, size=34)


def _diffuser(draw, colour, text) -> None:
    draw.ellipse((180, 150, 460, 430), fill=(245, 245, 245), outline=(210, 210, 210), width=4)
    draw.rounded_rectangle((170, 380, 470, 520), radius=30, fill=colour)
    draw.ellipse((300, 120, 340, 160), fill=(255, 255, 255))
    _label(draw, (220, 420, 420, 490), text, (255, 255, 255), ink=colour, size=32)


SHAPES = {
    "bottle": _bottle,
    "jar": _jar,
    "pouch": _pouch,
    "box": _box,
    "shaker": _shaker,
    "diffuser": _diffuser,
}


def product_picture(*, shape: str, colour: tuple[int, int, int], label: str) -> bytes:
    """A 640 × 640 PNG of a product of ``shape`` in ``colour`` with ``label`` on it."""
    image = _backdrop(colour)
    _shadow(image, (170, 520, 470, 580))
    SHAPES[shape](ImageDraw.Draw(image), colour, label)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
