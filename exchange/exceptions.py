"""Refusals of the exchange services; each message can be shown to the member as it is."""

from django.utils.translation import gettext_lazy as _

from ssr_points.exceptions import PointsError


class ExchangeError(PointsError):
    default_message = _("The exchange could not be processed.")


class InvalidLine(ExchangeError):
    default_message = _("That product cannot be exchanged. Please choose one from the list.")
    quantity_message = _("Choose a quantity between 1 and %(maximum)s.")
    empty_message = _("Choose at least one product to exchange.")


class NoActiveSubscription(ExchangeError):
    default_message = _("Exchanges need an active subscription with products. Add a subscription and save it first.")


class PaymentMethodNeedsStaff(ExchangeError):
    default_message = _(
        "Members paying by bank transfer or direct debit cannot exchange here. "
        "Please contact Customer Experience, who will exchange for you."
    )


class QuoteChanged(ExchangeError):
    default_message = _("Something changed since you opened the confirmation. Please check the new figures.")

    def __init__(self, quote=None, **kwargs):
        self.quote = quote
        super().__init__(**kwargs)


class NotCancellable(ExchangeError):
    default_message = _("Exchange %(number)s can no longer be cancelled: it has shipped or is being prepared.")


class CloseReasonRequired(ExchangeError):
    default_message = _("Write the member a reason for closing the request without an exchange.")


class NotShippable(ExchangeError):
    default_message = _("Exchange %(number)s was cancelled and cannot ship.")


class BoxChanged(ExchangeError):
    """The box was changed (another tab, CX) after this confirmation was opened."""

    default_message = _(
        "Your box for the next shipment was changed in another window after you opened this confirmation. "
        "Nothing was saved: here is your box as it stands now."
    )


class BoxClosed(ExchangeError):
    default_message = _(
        "Your box for the shipment of %(shipment)s can no longer be changed: changes were possible until %(last_day)s. "
        "You can still exchange and have it shipped now (Apply now)."
    )
