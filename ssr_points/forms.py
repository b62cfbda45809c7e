"""Staff forms of the back office. They only collect input; the services decide."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _


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
        return points

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


class StaffReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the member can read it)"), max_length=300, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason
