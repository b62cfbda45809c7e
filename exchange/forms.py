"""Forms of the exchange app. They only collect input; ``quote_build`` and the services decide."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from exchange.quotes import MAX_QUANTITY


class StaffExchangeForm(forms.Form):
    """A CX agent's choice of reward products for a member (quantity per product, 0 = none)."""

    ship_now = forms.BooleanField(
        label=_("Apply now (ships now, separately from the subscription; the handling fee applies)"), required=False
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.products = list(products)
        for product in self.products:
            self.fields[f"quantity_{product.pk}"] = forms.IntegerField(
                label=f"{product.sku} {product.name} ({product.point_cost} pt)",
                min_value=0,
                max_value=MAX_QUANTITY,
                initial=0,
                required=False,
            )

    def quantity_fields(self):
        return [self[f"quantity_{product.pk}"] for product in self.products]

    def lines(self) -> list[tuple[int, int]]:
        return [
            (product.pk, quantity)
            for product in self.products
            if (quantity := self.cleaned_data.get(f"quantity_{product.pk}") or 0) > 0
        ]
