"""Issue 23, break 2: ops and admin save products that have a picture — unchanged, repriced,
deactivated or with a new picture — through the admin's form (a 500, "I/O operation on closed
file", in subscriptions/images.py before)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from subscriptions.models import Product
from tests.factories import ProductFactory


def picture(colour=(200, 60, 90), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), colour).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def product_with_picture(db):
    product = ProductFactory(reward=True, point_cost=60, name_ja="オリジナルシェイカー")
    product.image = SimpleUploadedFile("shaker.png", picture(), content_type="image/png")
    product.image_alt_ja = "白いシェイカー"
    product.save()
    return product


def form_data(client, url) -> dict:
    """What the change form posts back as it opened (the stored picture stays: no file posted)."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if name == "image" or value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    return data


@pytest.mark.parametrize("account", ["ops", "superuser"])
def test_a_product_with_a_picture_is_saved_unchanged_repriced_and_deactivated(
    client, make_staff, product_with_picture, account
):
    client.force_login(make_staff(superuser=True) if account == "superuser" else make_staff(account))
    url = reverse("admin:subscriptions_product_change", args=[product_with_picture.pk])
    image, thumbnail = product_with_picture.image.name, product_with_picture.image_thumbnail.name

    assert client.post(url, form_data(client, url)).status_code == 302  # unchanged
    data = form_data(client, url)
    data["point_cost"] = 80
    data.pop("is_active")  # deactivated
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""

    product = Product.objects.get(pk=product_with_picture.pk)
    assert (product.point_cost, product.is_active) == (80, False)
    assert (product.image.name, product.image_thumbnail.name) == (image, thumbnail)  # kept, not copied


def test_ops_replace_a_picture_and_the_thumbnail_follows(client, make_staff, product_with_picture):
    client.force_login(make_staff("ops"))
    url = reverse("admin:subscriptions_product_change", args=[product_with_picture.pk])
    data = form_data(client, url) | {"image": SimpleUploadedFile("new.jpg", picture((10, 90, 200), "JPEG"))}
    assert client.post(url, data).status_code == 302
    product = Product.objects.get(pk=product_with_picture.pk)
    assert product.image.name != product_with_picture.image.name
    assert product.image_thumbnail.name.startswith("products/thumbs/new")


def test_a_file_that_is_not_a_picture_is_refused_and_the_stored_one_kept(client, make_staff, product_with_picture):
    client.force_login(make_staff("ops"))
    url = reverse("admin:subscriptions_product_change", args=[product_with_picture.pk])
    data = form_data(client, url) | {"image": SimpleUploadedFile("x.png", b"not a picture")}
    response = client.post(url, data)
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert Product.objects.get(pk=product_with_picture.pk).image.name == product_with_picture.image.name
