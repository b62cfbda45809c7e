"""Issue 11 item 13: product images — range-checked uploads, a square WebP thumbnail made by
the field whichever way the image is saved, alt text by language."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.utils import translation
from PIL import Image

from subscriptions.images import MAX_IMAGE_BYTES, THUMBNAIL_SIZE, validate_product_image
from tests.factories import ProductFactory


def picture(width=800, height=600, fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 60, 90)).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("how", ["upload", "field-save"])
def test_saving_an_image_makes_a_square_webp_thumbnail(db, how):
    product = ProductFactory(reward=True)
    if how == "upload":  # what the admin's form does
        product.image = SimpleUploadedFile("kit.png", picture(), content_type="image/png")
    else:  # FieldFile.save(save=False), as seed_demo does
        product.image.save("kit.png", ContentFile(picture()), save=False)
    product.save()
    product.refresh_from_db()
    assert (product.image_width, product.image_height) == (800, 600)
    with Image.open(product.image_thumbnail.path) as thumb:
        assert thumb.format == "WEBP" and thumb.size == (THUMBNAIL_SIZE, THUMBNAIL_SIZE)
    first = product.image_thumbnail.name
    product.save()  # saving again keeps the thumbnail
    assert product.image_thumbnail.name == first


def test_clearing_the_image_clears_the_thumbnail(db):
    product = ProductFactory(reward=True)
    product.image = SimpleUploadedFile("kit.png", picture(), content_type="image/png")
    product.save()
    product.image = None
    product.save()
    product.refresh_from_db()
    assert not product.image and not product.image_thumbnail


@pytest.mark.parametrize(
    "upload, code",
    [
        (SimpleUploadedFile("x.png", b"not an image at all"), "image_format"),
        (SimpleUploadedFile("x.gif", b"GIF89a" + b"\x00" * 100), "image_format"),
        (SimpleUploadedFile("x.png", b"\x89PNG" + b"\x00" * (MAX_IMAGE_BYTES + 1)), "image_too_large"),
    ],
    ids=["garbage", "gif", "too-large"],
)
def test_uploads_that_are_not_a_reasonable_picture_are_refused(upload, code):
    with pytest.raises(ValidationError) as refused:
        validate_product_image(upload)
    assert refused.value.code == code


def test_too_many_pixels_are_refused_before_decoding():
    huge = SimpleUploadedFile("huge.png", picture(9000, 5000))
    with pytest.raises(ValidationError) as refused:
        validate_product_image(huge)
    assert refused.value.code == "image_too_many_pixels"


def test_alt_text_follows_the_language_and_is_empty_when_not_written(db):
    product = ProductFactory(reward=True, image_alt_ja="赤い箱", image_alt_en="A red box")
    with translation.override("ja"):
        assert product.image_alt == "赤い箱"
    with translation.override("en"):
        assert product.image_alt == "A red box"
    assert ProductFactory(reward=True).image_alt == ""  # decorative: the name is next to it


def test_the_thumbnail_tag_writes_the_picture_or_a_tile_with_the_name_escaped(db):
    """``{% product_thumb %}`` (subscriptions/templatetags/ssr_format.py): the picture at 56 or 120 px
    with the alt text of the language, or a tile of the tone with the name's first two characters."""

    def thumb(product, arguments=""):
        return Template("{% load ssr_format %}{% product_thumb product " + arguments + " %}").render(
            Context({"product": product})
        )

    tile = ProductFactory(reward=True, name_ja="<b>ギフト", name_en="<b>Gift")
    with translation.override("ja"):
        assert thumb(tile) == '<span class="thumb thumb-1" aria-hidden="true">&lt;b</span>\n'
        assert (
            thumb(tile, "3 large=True") == '<span class="thumb thumb-3 thumb-large" aria-hidden="true">&lt;b</span>\n'
        )
        assert thumb(tile, "None") == '<span class="thumb thumb-1" aria-hidden="true">&lt;b</span>\n'
    pictured = ProductFactory(reward=True, image_alt_ja="赤い箱", image_alt_en='A "red" box')
    pictured.image.save("kit.png", ContentFile(picture()), save=False)
    pictured.save()
    url = pictured.image_thumbnail.url
    with translation.override("en"):
        assert thumb(pictured, "2") == (
            f'<img class="thumb thumb-img" src="{url}" alt="A &quot;red&quot; box" width="56" height="56" '
            'loading="lazy" decoding="async">\n'
        )
    with translation.override("ja"):
        assert thumb(pictured, "large=True") == (
            f'<img class="thumb thumb-img thumb-large" src="{url}" alt="赤い箱" width="120" height="120" '
            'loading="lazy" decoding="async">\n'
        )
