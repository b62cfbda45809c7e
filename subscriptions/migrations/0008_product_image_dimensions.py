"""Products whose picture has no width and height recorded (the demo data stored them so): read
them from the stored file once, here, instead of on every load of the product (the image field
opens the file to read them when they are missing)."""

from django.core.files.images import get_image_dimensions
from django.db import migrations
from django.db.models import Q


def dimensions_fill(apps, schema_editor):
    Product = apps.get_model("subscriptions", "Product")
    storage = Product._meta.get_field("image").storage
    for product in Product.objects.exclude(image="").filter(Q(image_width__isnull=True) | Q(image_height__isnull=True)):
        try:
            with storage.open(product.image.name) as file:
                width, height = get_image_dimensions(file)
        except OSError:
            continue  # the file is gone: nothing to read
        if width and height:
            Product.objects.filter(pk=product.pk).update(image_width=width, image_height=height)


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0007_catalogue_version_by_the_database")]

    operations = [migrations.RunPython(dimensions_fill, migrations.RunPython.noop)]
