"""Forms of the member's own pages: signing in and the subscription (定期購入)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models import MAX_QUANTITY


class MemberLoginForm(AuthenticationForm):
    """Member number or email, and password (``MemberNumberOrEmailBackend``)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The member number or email, or the password, is not correct. Please try again."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Member number or email")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})
        self.fields["password"].label = _("Password")


class SubscriptionForm(forms.Form):
    """The products of the subscription with their quantities, and the next shipment date."""

    next_shipment_date = forms.DateField(
        label=_("Next shipment date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.products = list(products)
        for product in self.products:
            self.fields[self.field_name(product)] = forms.IntegerField(
                label=product.name,
                min_value=0,
                max_value=MAX_QUANTITY,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": MAX_QUANTITY, "class": "qty"}),
            )

    @staticmethod
    def field_name(product) -> str:
        return f"quantity_{product.pk}"

    def product_rows(self):
        """(product, bound field) for the template."""
        return [(product, self[self.field_name(product)]) for product in self.products]

    def clean_next_shipment_date(self) -> dt.date:
        date = self.cleaned_data["next_shipment_date"]
        today = timezone.localdate()
        if date <= today:
            raise forms.ValidationError(_("Choose a date after today."))
        if date > today + dt.timedelta(days=366):
            raise forms.ValidationError(_("Choose a date within the next year."))
        return date

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(cleaned.get(self.field_name(product)) for product in self.products):
            raise forms.ValidationError(_("Add at least one product to your subscription."))
        return cleaned

    def items(self) -> dict:
        """product → quantity for ``subscription_save``."""
        return {
            product: self.cleaned_data[self.field_name(product)]
            for product in self.products
            if self.cleaned_data.get(self.field_name(product))
        }
