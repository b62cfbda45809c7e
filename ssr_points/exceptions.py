"""Typed errors of the points services, each with a message a CX agent understands.

Every service raises before it writes, inside its transaction, so the ledger is unchanged.
"""

from django.utils.translation import gettext_lazy as _


class PointsError(Exception):
    default_message = _("The points request could not be processed.")

    def __init__(self, message=None, **params):
        self.params = params
        # Whole numbers as people read them, with thousands separators: 1,000 points, not 1000.
        shown = {key: f"{value:,}" if type(value) is int else value for key, value in params.items()}
        self.message = (message or self.default_message) % shown if params else (message or self.default_message)
        super().__init__(str(self.message))

    def __str__(self) -> str:
        return str(self.message)


class InvalidPoints(PointsError):
    default_message = _("Points must be a whole number greater than zero.")


class InsufficientPoints(PointsError):
    default_message = _("Not enough points: %(requested)s requested, %(available)s available.")


class NegativeBalance(PointsError):
    default_message = _(
        "The member owes %(debt)s points from a returned order; points cannot be used until it is repaid."
    )


class ReasonRequired(PointsError):
    default_message = _("A reason is required.")


class StaffUserRequired(PointsError):
    default_message = _("Staff entries must record the staff user who made them.")


class NotReversible(PointsError):
    default_message = _("Only a redemption can be reversed.")


class AlreadyReversed(PointsError):
    default_message = _("This redemption has already been reversed.")


class OrderNotShipped(PointsError):
    default_message = _("Order %(number)s has not shipped; points are granted when it ships.")


class MemberNotFound(PointsError):
    default_message = _("No member with number %(member_number)s.")


class IdempotencyConflict(PointsError):
    default_message = _("This request key was already used for a different request.")


class AdjustmentNotPermitted(PointsError):
    default_message = _("You are not allowed to adjust points.")


class DailyAdditionCapReached(PointsError):
    default_message = _(
        "You can add up to %(cap)s points a day in total; you have added %(added)s today, so %(requested)s more "
        "needs a supervisor. Ask a Customer Experience supervisor to make this adjustment."
    )


class AdjustmentAboveLimit(PointsError):
    default_message = _(
        "Adjustments above %(limit)s points need a Customer Experience supervisor (requested %(requested)s)."
    )
