"""The append-only SSR points ledger.

- ``PointAccount``: one row per member. ``balance`` = sum of the member's entries; it is the
  row every write locks first, so a member's writes are serialised.
- ``Lot``: one grant (amount, what is left of it, granted at, expires at).
- ``Entry``: every change of a member's points, never updated or deleted.
- ``Allocation``: which lots an entry took points from (> 0) or returned points to (< 0).

Invariants (``services.ledger_check``): account.balance = Σ entry.points
= Σ lot.remaining − account.debt; for each lot remaining = amount − Σ allocations − expired.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from subscriptions.models import Member, SubscriptionOrder
from subscriptions.templatetags.ssr_format import day_text, valid_until_text


class PointAccount(models.Model):
    member = models.OneToOneField(
        Member, on_delete=models.PROTECT, primary_key=True, related_name="point_account", verbose_name=_("member")
    )
    balance = models.BigIntegerField(_("balance"), default=0)
    debt = models.BigIntegerField(
        _("debt"), default=0, help_text=_("Points already spent of returned orders, repaid by later grants first.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("point account")
        verbose_name_plural = _("point accounts")
        permissions = [
            ("adjust_points", _("Can adjust points within the CX limit")),
            ("adjust_points_unlimited", _("Can adjust points above the CX limit")),
            ("view_report", _("Can view the points report")),
            ("run_ledger_check", _("Can run the ledger check")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(debt__gte=0), name="account_debt_not_negative"),
            models.CheckConstraint(condition=Q(balance__gte=-F("debt")), name="account_balance_at_least_minus_debt"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.balance:,}"


class LotQuerySet(models.QuerySet):
    def spendable(self, *, at):
        """Lots with points left that have not reached their expiry instant at ``at``."""
        return self.filter(remaining__gt=0, expires_at__gt=at, granted_at__lte=at)

    def due(self, *, at):
        """Lots with points left whose expiry instant has passed at ``at``."""
        return self.filter(remaining__gt=0, expires_at__lte=at)

    def fifo(self):
        return self.order_by("expires_at", "id")


class Lot(models.Model):
    # Every index is paid for on each lot the nightly expiry empties (the update cannot be HOT:
    # ``remaining`` is in the partial indexes' condition). Each one serves a named query
    # (docs/ledger.md, "Indexes"); the foreign keys are checked, but not indexed on their own:
    # a member's lots are found through ``one_grant_per_order`` (member_id, order_id) and
    # lots are never deleted.
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="lots", db_index=False, verbose_name=_("member")
    )
    order = models.ForeignKey(
        SubscriptionOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lots",
        db_index=False,
        verbose_name=_("subscription order"),
    )
    amount = models.PositiveIntegerField(_("amount"))
    remaining = models.PositiveIntegerField(_("remaining"))
    expired = models.PositiveIntegerField(_("expired"), default=0)
    granted_at = models.DateTimeField(_("granted at"))
    expires_at = models.DateTimeField(_("expires at"))

    objects = LotQuerySet.as_manager()

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="lot_amount_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("amount")), name="lot_remaining_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(expired__gte=0) & Q(expired__lte=F("amount") - F("remaining")),
                name="lot_expired_within_consumed",
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=F("granted_at")), name="lot_expires_after_grant"),
            # Also: a member's lots (ledger check, member admin), an order's lot (grants, clawback).
            models.UniqueConstraint(fields=["member", "order"], name="one_grant_per_order"),
        ]
        indexes = [
            # A member's spendable lots, soonest-expiring first (balance, quote, redeem); the
            # expiry job's batches in member order.
            models.Index(fields=["member", "expires_at", "id"], condition=Q(remaining__gt=0), name="lot_open_fifo_idx"),
            # Spendable lots by expiry date: the expiring-soon reminders, the finance report.
            models.Index(fields=["expires_at", "member"], condition=Q(remaining__gt=0), name="lot_open_expiry_idx"),
        ]

    def __str__(self) -> str:
        # The last valid day (the one convention, docs/admin.md), in the default time zone: a
        # row's name must not query its member's market; the market's own zone is in the admin.
        return gettext("%(points)s points (%(until)s)") % {
            "points": f"{self.amount:,}",
            "until": valid_until_text(self.expires_at),
        }


class Entry(models.Model):
    class Kind(models.TextChoices):
        GRANT = "grant", _("Grant")
        REDEMPTION = "redemption", _("Redemption")
        EXPIRY = "expiry", _("Expiry")
        REVERSAL = "reversal", _("Reversal")
        CLAWBACK = "clawback", _("Clawback")
        ADJUSTMENT = "adjustment", _("Adjustment")

    # One entry per grant, redemption and expired lot: the largest table, and every index and
    # foreign key is paid for on each insert (docs/ledger.md, "Indexes"). Each index serves a
    # named query. The member and lot are checked by the database; the optional order, reversed
    # entry and staff user are not (``db_constraint=False``): their check cost every entry a
    # trigger even when empty, and Django's PROTECT still refuses to delete what they name.
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="point_entries", db_index=False, verbose_name=_("member")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    points = models.BigIntegerField(_("points"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=300)
    reference = models.CharField(
        _("reference"), max_length=64, blank=True, help_text=_("Order or exchange number the entry belongs to.")
    )
    # NULL, not "", so the unique (member, key) constraint only binds entries that have a key.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, verbose_name=_("request key"))  # noqa: DJ001
    lot = models.ForeignKey(
        Lot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        db_index=False,
        verbose_name=_("lot"),
    )
    order = models.ForeignKey(
        SubscriptionOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="point_entries",
        db_index=False,
        db_constraint=False,  # the grant's lot names its order with a checked foreign key
        verbose_name=_("subscription order"),
    )
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        db_index=False,
        db_constraint=False,  # entries are never deleted; the ledger check binds its reversals to it
        verbose_name=_("entry reversed"),
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,  # PROTECT: Django refuses to delete a user an entry names
        verbose_name=_("staff user"),
    )

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["grant", "reversal"], points__gt=0)
                    | Q(kind__in=["redemption", "expiry", "clawback"], points__lt=0)
                    | (Q(kind="adjustment") & ~Q(points=0))
                ),
                name="entry_sign_matches_kind",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="entry_reason_required"),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | Q(staff_user__isnull=False), name="adjustment_has_staff_user"
            ),
            # Also: looking up the entry of a repeated request (redeem, adjust, clawback). Only
            # entries with a key are in it: the nightly expiry's and the grants' have none.
            models.UniqueConstraint(
                fields=["member", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="entry_idempotency_unique",
            ),
        ]
        indexes = [
            # The member's history, newest first (home page, member admin); a member's entries
            # (ledger check, ``Entry.objects.filter(member=…)``).
            models.Index(fields=["member", "-created_at", "-id"], name="entry_member_history_idx"),
            # The finance report groups a year of entries by month (docs/admin.md).
            models.Index(fields=["created_at"], name="entry_created_at_idx"),
            # A redemption's reversals (a cancellation, or rewards taken out of a box, in parts).
            models.Index(fields=["member", "reverses"], condition=Q(kind="reversal"), name="entry_reversals_idx"),
            # Deleting a staff user checks that no entry names them; only staff entries are in it.
            models.Index(fields=["staff_user"], condition=Q(staff_user__isnull=False), name="entry_staff_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+,}"

    def member_reason(self) -> str:
        """The reason as the member reads it, in the active language.

        System entries are told by their kind and reference (order or exchange number), so
        they read in the member's language whatever language the stored ``reason`` is in;
        staff entries show the staff note. Uses no other row than ``lot`` (select it).
        """
        params = {"reference": self.reference, "note": self.reason}
        if self.kind == self.Kind.ADJUSTMENT:
            return _("Adjustment by Customer Experience: %(note)s") % params
        if self.kind == self.Kind.EXPIRY:
            if self.lot_id is not None:
                params["granted"] = day_text(timezone.localtime(self.lot.granted_at).date())
                return _("Expired: points granted on %(granted)s, 12 months ago") % params
            return _("Expired: points granted 12 months ago")
        if not self.reference:
            return self.reason
        messages = {
            self.Kind.GRANT: _("Subscription order %(reference)s shipped"),
            self.Kind.REDEMPTION: _("Point exchange %(reference)s"),
            self.Kind.REVERSAL: _("Point exchange %(reference)s cancelled: points returned"),
            self.Kind.CLAWBACK: _("Subscription order %(reference)s returned: points taken back"),
        }
        return messages[self.kind] % params if self.kind in messages else self.reason


class Allocation(models.Model):
    """Points an entry took from a lot (positive) or gave back to it (negative)."""

    # A member's allocations: through ``allocation_unique_per_entry_lot`` (member_id, …).
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("member")
    )
    entry = models.ForeignKey(
        Entry, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("ledger entry")
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("lot"))
    points = models.BigIntegerField(_("points"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="allocation_points_not_zero"),
            models.UniqueConstraint(fields=["member", "entry", "lot"], name="allocation_unique_per_entry_lot"),
        ]

    def __str__(self) -> str:
        return gettext("ledger entry %(entry)s, lot %(lot)s: %(points)s") % {
            "entry": self.entry_id,
            "lot": self.lot_id,
            "points": f"{self.points:+,}",
        }
