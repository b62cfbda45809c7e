"""Product images: what an upload may be, and the thumbnail the member pages show.

The original is kept as uploaded (range-checked: format, bytes, pixels); a square WebP
thumbnail of ``THUMBNAIL_SIZE`` px is made when a new image is saved, whichever way it is
saved (the back office's form, ``seed_demo``, a shell), by the field itself — as Django's
``ImageField`` fills its width and height fields. Pages show the thumbnail with its alt text,
its size and ``loading="lazy"``; docs/member-site.md says how production serves the files.
"""

from __future__ import annotations

import io
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # e.g. 8,000 × 5,000; larger is refused before it is decoded
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
THUMBNAIL_SIZE = 240  # px, square: shown at 56–120 CSS px, sharp on 2× screens


def validate_product_image(file) -> None:
    """Refuse anything but a JPEG, PNG or WebP of at most 5 MB and 40 megapixels."""
    if file.size > MAX_IMAGE_BYTES:
        raise ValidationError(_("The image is larger than 5 MB."), code="image_too_large")
    # A product saved again with its stored image (the admin's form, unchanged) brings the image's
    # FieldFile, which Django's ImageField has already read and closed: it is opened again here and
    # closed after, as it was.
    reopened = getattr(file, "closed", False)
    if reopened:
        file.open("rb")
    position = file.tell() if hasattr(file, "tell") else 0
    try:
        file.seek(0)
        with Image.open(file) as image:
            if image.format not in ALLOWED_FORMATS:
                raise ValidationError(_("Upload a JPEG, PNG or WebP image."), code="image_format")
            width, height = image.size
    except (OSError, Image.DecompressionBombError):
        raise ValidationError(_("Upload a JPEG, PNG or WebP image."), code="image_format") from None
    finally:
        if reopened:
            file.close()
        else:
            file.seek(position)
    if width * height > MAX_IMAGE_PIXELS:
        raise ValidationError(_("The image has too many pixels (40 megapixels at most)."), code="image_too_many_pixels")


def thumbnail_make(file) -> ContentFile:
    """A square WebP thumbnail of ``file`` (cropped to the centre, EXIF rotation applied)."""
    file.seek(0)
    with Image.open(file) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA")
        thumb = ImageOps.fit(image, (THUMBNAIL_SIZE, THUMBNAIL_SIZE), method=Image.Resampling.LANCZOS)
        out = io.BytesIO()
        thumb.save(out, format="WEBP", quality=82, method=4)
    return ContentFile(out.getvalue())


class ThumbnailedImageField(models.ImageField):
    """An ``ImageField`` that writes a thumbnail into ``thumbnail_field`` whenever a new file
    is saved, and clears it when the image is cleared."""

    def __init__(self, *args, thumbnail_field: str = "", **kwargs):
        self.thumbnail_field = thumbnail_field
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["thumbnail_field"] = self.thumbnail_field
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        file = super().pre_save(model_instance, add)  # commits a new upload to storage
        thumbnail = getattr(model_instance, self.thumbnail_field)
        if not file:
            setattr(model_instance, self.thumbnail_field, "")
            return file
        stem = PurePosixPath(file.name).stem
        # A new image (uploaded, or stored with FieldFile.save(save=False)) has no thumbnail of
        # its own yet: the thumbnail's name starts with the image's.
        if not thumbnail or not PurePosixPath(thumbnail.name).stem.startswith(stem):
            thumbnail.save(f"{stem}.webp", thumbnail_make(file), save=False)
        return file
