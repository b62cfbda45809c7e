"""Forms of the exchange wizard: what may be typed, validated on the server.

They only collect input; ``quote_build`` and the services decide."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from exchange.quotes import MAX_QUANTITY


class QuantityForm(forms.Form):
    range_message = _("Choose a quantity between 1 and %(maximum)s.")

    quantity = forms.IntegerField(
        label=_("Quantity"),
        error_messages={"required": _("Enter a quantity."), "invalid": _("Enter the quantity as a whole number.")},
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": MAX_QUANTITY, "class": "qty"}),
    )

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data["quantity"]
        if not 1 <= quantity <= MAX_QUANTITY:
            raise forms.ValidationError(self.range_message, code="range", params={"maximum": MAX_QUANTITY})
        return quantity


class ConfirmForm(forms.Form):
    """The final confirmation: the key and fingerprint issued with the page, and the agreement."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    fingerprint = forms.CharField(
        max_length=64, widget=forms.HiddenInput, validators=[RegexValidator(r"^[0-9a-f]{32}$")]
    )
    agree = forms.BooleanField(
        label=_("I have checked the details above and agree to exchange my points."),
        error_messages={"required": _("Tick the box to agree before you save.")},
    )

    @property
    def is_tampered(self) -> bool:
        """The hidden fields are not what the confirmation page issued."""
        return "idempotency_key" in self.errors or "fingerprint" in self.errors


class ExchangeRequestForm(forms.Form):
    """A bank-transfer / direct-debit member's request to Customer Experience: a quantity for each
    reward of the catalogue (``products``: (product, points still missing for one) pairs, 0 for
    an affordable one), a message, or both; ``exchange_request_create`` checks the points."""

    message = forms.CharField(
        label=_("Message to Customer Experience (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: ship with my next subscription order, or a reward not listed here."),
    )
    contact_phone = forms.CharField(label=_("Phone number to call you back (optional)"), max_length=30, required=False)

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.products = list(products)
        for product, _short in self.products:
            self.fields[self.field_name(product)] = forms.IntegerField(
                label=product.name,
                min_value=0,
                max_value=MAX_QUANTITY,
                required=False,
                initial=0,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": MAX_QUANTITY, "class": "qty"}),
            )

    @staticmethod
    def field_name(product) -> str:
        return f"quantity_{product.pk}"

    def product_rows(self):
        """(product, bound field, points still missing for one) for the template."""
        return [(product, self[self.field_name(product)], short) for product, short in self.products]

    def lines(self) -> list[tuple[object, int]]:
        """The (product, quantity) pairs chosen, quantity ≥ 1."""
        return [
            (product, self.cleaned_data[self.field_name(product)])
            for product, _short in self.products
            if self.cleaned_data.get(self.field_name(product))
        ]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.lines() and not cleaned.get("message", "").strip():
            raise forms.ValidationError(
                _("Choose a reward and its quantity, or write what you would like to exchange."), code="empty"
            )
        return cleaned
