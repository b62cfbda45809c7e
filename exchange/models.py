"""Point exchanges: reward items a member takes for points, bundled or shipped now.

A bundled exchange is the member's **box** for the next subscription shipment: one per shipment,
which the member adds to, changes or empties until the cut-off (docs/member-site.md, "One box").
An apply-now exchange is its own shipment. An ``Exchange`` holds its figures and lines as they
stand now (points, fee, shipping, tax, total; in ``ExchangeTaxLine`` its tax per rate, the
qualified invoice's breakdown); each ``ExchangeChange`` keeps what one change agreed to — its
figures and lines after it, the points it redeemed or returned, who and when — and never
changes after. Points are redeemed when placed or added (``redemption``, then one redemption per
change that adds) and returned to their lots when taken out or cancelled (reversals).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ssr_points.models import Entry
from subscriptions.models import Member, Product, SubscriptionOrder


class Exchange(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        SHIPPED = "shipped", _("Shipped")
        CANCELLED = "cancelled", _("Cancelled")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="exchanges", verbose_name=_("member"))
    number = models.CharField(_("exchange number"), max_length=20)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PLACED)
    ship_now = models.BooleanField(
        _("apply now"), default=False, help_text=_("Ships now, separately from the subscription.")
    )
    idempotency_key = models.UUIDField(_("request key"))
    points = models.PositiveIntegerField(_("points used"))
    fee_units = models.PositiveIntegerField(_("fee units (started 100 points)"))
    exchange_fee_excl_tax = models.PositiveIntegerField(_("exchange fee (excl. tax)"))
    handling_fee_excl_tax = models.PositiveIntegerField(_("shipping (excl. tax)"))
    subtotal_excl_tax = models.PositiveIntegerField(_("subtotal (excl. tax)"))
    tax = models.PositiveIntegerField(_("tax"))
    total = models.PositiveIntegerField(_("total"))
    pv = models.DecimalField(_("total PV"), max_digits=12, decimal_places=2, default=Decimal("0"))
    charge_incl_tax = models.PositiveIntegerField(
        _("charged for the exchange (incl. tax)"), help_text=_("Exchange fee and shipping, tax included.")
    )
    redemption = models.OneToOneField(
        Entry, on_delete=models.PROTECT, related_name="exchange", verbose_name=_("redemption entry")
    )
    reversal = models.OneToOneField(
        Entry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cancelled_exchange",
        verbose_name=_("reversal entry"),
    )
    order = models.ForeignKey(
        SubscriptionOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exchanges",
        help_text=_("The subscription order it ships with; once set it can no longer be cancelled."),
        verbose_name=_("subscription order"),
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("placed by"),
    )
    created_at = models.DateTimeField(_("placed at"), default=timezone.now)
    revision = models.PositiveIntegerField(
        _("revision"), default=1, help_text=_("1 when placed, one more for each change of its box.")
    )
    changed_at = models.DateTimeField(_("last changed at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        permissions = [
            ("place_exchange_for_member", _("Can place an exchange on a member's behalf")),
            ("cancel_exchange", _("Can cancel an unshipped exchange")),
        ]
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "idempotency_key"], name="exchange_idempotency_unique"),
            models.UniqueConstraint(fields=["member", "number"], name="exchange_number_unique_per_member"),
            models.CheckConstraint(condition=Q(points__gt=0), name="exchange_points_positive"),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | (Q(reversal__isnull=False) & Q(order__isnull=True)),
                name="cancelled_exchange_is_reversed_and_unbundled",
            ),
            models.CheckConstraint(
                condition=Q(total=models.F("subtotal_excl_tax") + models.F("handling_fee_excl_tax") + models.F("tax")),
                name="exchange_total_adds_up",
            ),
        ]
        indexes = [
            models.Index(fields=["number"], name="exchange_number_idx"),
            models.Index(fields=["member", "status"], name="exchange_member_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_cancellable(self) -> bool:
        return self.status == self.Status.PLACED and self.order_id is None

    @property
    def staff_cancel_reason(self) -> str:
        """Why Customer Experience cancelled it, as the agent wrote it for the member (the
        reversal's reason); empty when the member cancelled it or it is not cancelled. Reads the
        reversal entry."""
        if self.status != self.Status.CANCELLED or self.reversal_id is None:
            return ""
        return self.reversal.reason if self.reversal.staff_user_id else ""

    @property
    def placed_by_staff(self) -> bool:
        """Customer Experience placed it on the member's behalf (a phone call, a request)."""
        return self.placed_by_id is not None


class ExchangeLine(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="lines", verbose_name=_("exchange"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_points = models.PositiveIntegerField(_("points each"))
    tax_rate = models.PositiveSmallIntegerField(_("tax rate (%)"))

    class Meta:
        verbose_name = _("exchange line")
        verbose_name_plural = _("exchange lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="exchange_line_quantity_positive"),
            models.UniqueConstraint(fields=["member", "exchange", "product"], name="exchange_line_product_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} × {self.quantity}"

    @property
    def points(self) -> int:
        return self.unit_points * self.quantity


class ExchangeTaxLine(models.Model):
    """The consumption tax of one rate of a placed exchange, as its quote computed it.

    A qualified invoice (適格請求書) states, per rate, the tax-included amount and the tax in it;
    the tax is rounded down once per rate for the whole order: ``tax = floor(amount_incl_tax ×
    rate / (100 + rate))`` (docs/rules.md §2). Rates with nothing at them have no line. The lines of
    an exchange add up to its ``tax`` and ``total`` (``exchange_place`` checks it).
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    exchange = models.ForeignKey(
        Exchange, on_delete=models.CASCADE, related_name="tax_lines", verbose_name=_("exchange")
    )
    rate = models.PositiveSmallIntegerField(_("tax rate (%)"))
    amount_incl_tax = models.PositiveIntegerField(_("amount at this rate (incl. tax)"))
    tax = models.PositiveIntegerField(_("tax at this rate"))

    class Meta:
        verbose_name = _("tax by rate")
        verbose_name_plural = _("tax by rate")
        ordering = ["rate"]
        constraints = [
            models.UniqueConstraint(fields=["member", "exchange", "rate"], name="exchange_tax_line_rate_unique"),
            models.CheckConstraint(condition=Q(rate__lte=100), name="exchange_tax_line_rate_is_percentage"),
            models.CheckConstraint(
                condition=Q(amount_incl_tax__gte=0) & Q(tax__gte=0), name="exchange_tax_line_amounts_not_negative"
            ),
            models.CheckConstraint(
                # bigint: amount × rate must not overflow an integer for large amounts.
                condition=Q(tax=Cast("amount_incl_tax", models.BigIntegerField()) * F("rate") / (100 + F("rate"))),
                name="exchange_tax_line_tax_rounded_down_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate}%: ¥{self.tax:,}"

    @property
    def amount_excl_tax(self) -> int:
        return self.amount_incl_tax - self.tax


class ExchangeChange(models.Model):
    """One change of an exchange as it was agreed to — placing it, changing its box, cancelling
    it: who and when, the points it redeemed (``points_delta`` > 0) or returned (< 0), and the
    exchange's figures and reward lines after it. The receipt of that change."""

    class Kind(models.TextChoices):
        PLACED = "placed", _("Placed")
        CHANGED = "changed", _("Changed")
        CANCELLED = "cancelled", _("Cancelled")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    exchange = models.ForeignKey(Exchange, on_delete=models.PROTECT, related_name="changes", verbose_name=_("exchange"))
    revision = models.PositiveIntegerField(_("revision"))
    kind = models.CharField(_("change"), max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(_("changed at"), default=timezone.now)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by staff"),
    )
    idempotency_key = models.UUIDField(_("request key"), null=True, blank=True)
    points_before = models.PositiveIntegerField(_("points before"))
    points = models.PositiveIntegerField(_("points after"))
    fee_units = models.PositiveIntegerField(_("fee units (started 100 points)"))
    exchange_fee_excl_tax = models.PositiveIntegerField(_("exchange fee (excl. tax)"))
    handling_fee_excl_tax = models.PositiveIntegerField(_("shipping (excl. tax)"))
    tax = models.PositiveIntegerField(_("tax"))
    total = models.PositiveIntegerField(_("total"))
    charge_incl_tax = models.PositiveIntegerField(_("charged for the exchange (incl. tax)"))
    # [{"sku", "name_ja", "name_en", "quantity", "unit_points"}, …] in SKU order, as they stood after it.
    lines = models.JSONField(_("reward lines after the change"), default=list)

    class Meta:
        verbose_name = _("exchange change")
        verbose_name_plural = _("exchange changes")
        ordering = ["exchange", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "revision"], name="exchange_change_revision_unique"),
            models.UniqueConstraint(
                fields=["member", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="exchange_change_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_id} #{self.revision} {self.get_kind_display()}"

    @property
    def points_delta(self) -> int:
        """Points this change redeemed (> 0) or returned (< 0)."""
        return self.points - self.points_before


class ExchangeRequest(models.Model):
    """A bank-transfer / direct-debit member asks Customer Experience to exchange for them."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CLOSED = "closed", _("Closed without exchange")

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="exchange_requests", verbose_name=_("member")
    )
    message = models.TextField(_("message"), max_length=2000, blank=True)
    close_reason = models.TextField(
        _("reason for closing without an exchange"),
        max_length=2000,
        blank=True,
        help_text=_("Written by Customer Experience for the member: emailed and shown on their page."),
    )
    contact_phone = models.CharField(_("phone to call back"), max_length=30, blank=True)
    # The rewards the member picked from the catalogue, as they stood when sent: a list of
    # {"product_id", "sku", "name" (Japanese), "quantity", "points"} (exchange_request_create).
    lines = models.JSONField(_("rewards chosen"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    exchange = models.ForeignKey(
        Exchange, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("exchange")
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("exchange request")
        verbose_name_plural = _("exchange requests")
        ordering = ["status", "created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="exchange_request_queue_idx")]

    def __str__(self) -> str:
        return f"{self.member.member_number} {self.get_status_display()}"

    @property
    def lines_text(self) -> str:
        """「トライアルパック × 2（84pt）、…」: the rewards chosen, for Customer Experience."""
        return "、".join(f"{line['name']} × {line['quantity']}（{line['points']}pt）" for line in self.lines)
