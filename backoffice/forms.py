"""Staff forms of the back office. They only collect input; the services decide."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.models import CONTACT_NOTE_MAX
from exchange.quotes import MAX_QUANTITY
from ssr_points.reports import RANGE_MONTHS_MAX

# No single adjustment comes near this; a longer figure is a slip of the keyboard, and far beyond
# it the ledger's columns would overflow (a lot holds up to 2,147,483,647 points).
ADJUSTMENT_MAX = 1_000_000


class PointsAdjustmentForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points (+ to add, − to remove)"),
        help_text=_("A whole number; negative to remove points (soonest-expiring first)."),
    )
    reason = forms.CharField(
        label=_("Reason (the member can read it)"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than zero."))
        if abs(points) > ADJUSTMENT_MAX:
            raise forms.ValidationError(
                _("Enter at most %(limit)s points either way."), params={"limit": f"{ADJUSTMENT_MAX:,}"}
            )
        return points

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


class StaffReasonForm(forms.Form):
    """A reason a staff action records; ``reason_label`` says who reads it (the member, or staff only)."""

    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, reason_label, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = reason_label

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


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
                label=_("%(sku)s %(name)s (%(points)s points)")
                % {"sku": product.sku, "name": product.name, "points": f"{product.point_cost:,}"},
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


class ContactNoteForm(forms.Form):
    text = forms.CharField(
        label=_("What was said"),
        max_length=CONTACT_NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Who called, what they asked, what you answered. A note cannot be changed or deleted."),
    )


class ReportRangeForm(forms.Form):
    """The points report's market and date range (both days included, in the market's time zone)."""

    market = forms.ChoiceField(label=_("Market"), required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, markets, **kwargs):
        super().__init__(*args, **kwargs)
        self.markets = {market.code: market for market in markets}
        self.fields["market"].choices = [(code, str(market)) for code, market in self.markets.items()]

    def default_market(self):
        return next(iter(self.markets.values()), None)

    def clean_market(self):
        return self.markets.get(self.cleaned_data["market"])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The range ends before it starts."))
            if (end.year - start.year) * 12 + end.month - start.month >= RANGE_MONTHS_MAX:
                raise forms.ValidationError(
                    _("Choose a range of at most %(months)s months."), params={"months": RANGE_MONTHS_MAX}
                )
        return cleaned
