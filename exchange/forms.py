"""Forms of the exchange wizard: what may be typed, validated on the server.

They only collect input; ``quote_build`` and the services decide."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from exchange.quotes import MAX_QUANTITY


def _attributes(attrs: dict) -> str:
    """Attributes as django/forms/widgets/attrs.html writes them: in order, True bare, False left out."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class _InputWithoutTemplate:
    """``render`` of an ``<input>`` written without a widget template, byte for byte as
    django/forms/widgets/input.html: the template engine's round trip cost more than the page's
    query (docs/performance.md)."""

    def render(self, name, value, attrs=None, renderer=None):
        formatted = self.format_value(value)  # None for an empty value: no value attribute, like Django's
        value_attribute = format_html(' value="{}"', formatted) if formatted is not None else ""
        return format_html(
            '<input type="{}" name="{}"{}{}>',
            self.input_type,
            name,
            value_attribute,
            _attributes(self.build_attrs(self.attrs, attrs)),
        )


class HiddenValueInput(_InputWithoutTemplate, forms.HiddenInput):
    """A hidden input written without a widget template."""


class QuantityInput(_InputWithoutTemplate, forms.NumberInput):
    """The quantity step's number input, written without a widget template."""


class QuantityForm(forms.Form):
    range_message = _("Choose a quantity between 1 and %(maximum)s.")

    quantity = forms.IntegerField(
        label=_("Quantity"),
        error_messages={"required": _("Enter a quantity."), "invalid": _("Enter the quantity as a whole number.")},
        widget=QuantityInput(attrs={"inputmode": "numeric", "min": 1, "max": MAX_QUANTITY, "class": "qty"}),
    )

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data["quantity"]
        if not 1 <= quantity <= MAX_QUANTITY:
            raise forms.ValidationError(self.range_message, code="range", params={"maximum": MAX_QUANTITY})
        return quantity


class AgreeCheckbox(forms.CheckboxInput):
    """The agreement's checkbox, written without a widget template like ``HiddenValueInput``."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        if self.check_test(value):
            attrs = {**attrs, "checked": True}
        formatted = self.format_value(value)
        value_attribute = format_html(' value="{}"', formatted) if formatted is not None else ""
        return format_html('<input type="checkbox" name="{}"{}{}>', name, value_attribute, _attributes(attrs))


class ConfirmForm(forms.Form):
    """The final confirmation: the key and fingerprint issued with the page, and the agreement."""

    idempotency_key = forms.UUIDField(widget=HiddenValueInput)
    fingerprint = forms.CharField(
        max_length=64, widget=HiddenValueInput, validators=[RegexValidator(r"^[0-9a-f]{32}$")]
    )
    agree = forms.BooleanField(
        widget=AgreeCheckbox,
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
