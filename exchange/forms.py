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
    message = forms.CharField(
        label=_("What would you like to exchange?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For example: one Trial pack, shipped with my next subscription order."),
    )
    contact_phone = forms.CharField(label=_("Phone number to call you back (optional)"), max_length=30, required=False)
