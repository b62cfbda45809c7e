"""Members, markets, products, subscriptions and their monthly orders.

Amounts are integers in the market currency's minor unit (yen for Japan); prices are kept
tax-included (総額表示). Every member-owned row carries ``member_id`` so the schema can be
distributed by member (docs/scaling.md).
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from subscriptions.images import ThumbnailedImageField, validate_product_image
from subscriptions.search import member_search_indexes


def default_earn_rate_schedule() -> list[list[int]]:
    """Japan's default until the program owner confirms it: [from month, percent]."""
    return [[1, 10], [4, 15], [7, 20], [10, 25], [13, 30]]


def validate_earn_rate_schedule(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("The schedule must be a non-empty list of [from month, percent]."))
    previous = 0
    for step in value:
        if (
            not isinstance(step, list | tuple)
            or len(step) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in step)
        ):
            raise ValidationError(_("Each step must be [from month, percent] in whole numbers."))
        month, percent = step
        if month <= previous or not 0 <= percent <= 100:
            raise ValidationError(_("Months must rise from 1 and percents lie between 0 and 100."))
        previous = month
    if value[0][0] != 1:
        raise ValidationError(_("The schedule must start at month 1."))


class Market(models.Model):
    """A country's program settings: currency, tax, fees, time zone and earn rates."""

    code = models.CharField(_("code"), max_length=8, unique=True)
    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Tokyo")
    reduced_tax_rate = models.PositiveSmallIntegerField(_("reduced tax rate (%)"), default=8)
    standard_tax_rate = models.PositiveSmallIntegerField(_("standard tax rate (%)"), default=10)
    exchange_fee_per_100_points = models.PositiveIntegerField(
        _("exchange fee per started 100 points (excl. tax)"), default=1400
    )
    handling_fee_incl_tax = models.PositiveIntegerField(_("handling fee (incl. tax)"), default=1100)
    free_handling_threshold_incl_tax = models.PositiveIntegerField(
        _("subscription order total that waives the handling fee (incl. tax)"), default=12000
    )
    earn_rate_schedule = models.JSONField(
        _("earn-rate schedule [from month, percent]"),
        default=default_earn_rate_schedule,
        validators=[validate_earn_rate_schedule],
    )
    point_value = models.PositiveIntegerField(_("value of one point for finance reports (minor unit)"), default=100)
    cx_phone = models.CharField(_("Customer Experience phone"), max_length=40, blank=True)
    cx_email = models.EmailField(_("Customer Experience email"), blank=True)
    # Set by the database whenever the market's products or the market itself are written
    # (migration 0007): each process then reads them again (subscriptions/catalogue.py).
    catalogue_version = models.PositiveBigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        verbose_name = _("market")
        verbose_name_plural = _("markets")
        constraints = [
            models.CheckConstraint(
                condition=Q(reduced_tax_rate__lte=100) & Q(standard_tax_rate__lte=100),
                name="market_tax_rates_are_percentages",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"time_zone": _("Unknown time zone.")}) from None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def exchange_fee_per_100_points_incl_tax(self) -> int:
        """The exchange fee per started 100 points as members read it (総額表示): 1,400 + 10 % = 1,540."""
        fee = self.exchange_fee_per_100_points
        return fee + fee * self.standard_tax_rate // 100

    def earn_rate_percent(self, months_subscribed: int) -> int:
        """The earn rate (%) for an order in the given consecutive month (1-based)."""
        percent = 0
        for from_month, step_percent in self.earn_rate_schedule:
            if months_subscribed >= from_month:
                percent = step_percent
        return percent


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Credit card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    DIRECT_DEBIT = "direct_debit", _("Direct debit")


class Member(models.Model):
    """A program member. The back office searches members by number, name, kana, email and
    phone (``subscriptions.search``); the trigram indexes below serve it on PostgreSQL."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member", verbose_name=_("login")
    )
    member_number = models.CharField(_("member number"), max_length=20, unique=True)
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="members", verbose_name=_("market"))
    name = models.CharField(_("name"), max_length=100)
    name_kana = models.CharField(_("name (kana)"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True, db_index=True)
    payment_method = models.CharField(
        _("payment method"), max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.CARD
    )
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        indexes = member_search_indexes()

    def __str__(self) -> str:
        return f"{self.member_number} {self.name}"

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def pays_by_card(self) -> bool:
        return self.payment_method == PaymentMethod.CARD


# The most of one product on one line, in a subscription or an exchange (forms and the quote).
MAX_QUANTITY = 99


class Product(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="products", verbose_name=_("market"))
    sku = models.CharField(_("SKU"), max_length=32, unique=True)
    name_ja = models.CharField(_("name (Japanese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    description_ja = models.TextField(_("description (Japanese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    price_incl_tax = models.PositiveIntegerField(_("price (incl. tax)"))
    tax_rate = models.PositiveSmallIntegerField(_("tax rate (%)"))
    pv = models.DecimalField(_("PV"), max_digits=10, decimal_places=2, default=Decimal("0"))
    point_cost = models.PositiveIntegerField(
        _("point cost"), null=True, blank=True, help_text=_("Set when the product can be exchanged for points.")
    )
    is_subscribable = models.BooleanField(_("can be subscribed"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    image = ThumbnailedImageField(
        _("image"),
        upload_to="products/",
        blank=True,
        width_field="image_width",
        height_field="image_height",
        thumbnail_field="image_thumbnail",
        validators=[validate_product_image],
        help_text=_("JPEG, PNG or WebP, at most 5 MB; a square thumbnail is made from its centre."),
    )
    image_width = models.PositiveIntegerField(_("image width"), null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(_("image height"), null=True, blank=True, editable=False)
    # Declared after ``image``: its pre_save runs after the image has written the thumbnail.
    image_thumbnail = models.ImageField(_("thumbnail"), upload_to="products/thumbs/", blank=True, editable=False)
    image_alt_ja = models.CharField(
        _("image description (Japanese)"),
        max_length=200,
        blank=True,
        help_text=_("What the image shows, for members who cannot see it (alt text)."),
    )
    image_alt_en = models.CharField(_("image description (English)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(tax_rate__lte=100), name="product_tax_rate_is_percentage"),
            models.CheckConstraint(
                condition=Q(point_cost__isnull=True) | Q(point_cost__gt=0), name="product_point_cost_positive"
            ),
            models.CheckConstraint(condition=Q(pv__gte=0), name="product_pv_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ja").startswith("en") else self.name_ja

    @property
    def description(self) -> str:
        return self.description_en if (get_language() or "ja").startswith("en") else self.description_ja

    @property
    def thumbnail_url(self) -> str:
        """The thumbnail's URL as the storage gives it now, "" without one."""
        return self.image_thumbnail.url if self.image_thumbnail else ""

    @property
    def image_alt(self) -> str:
        """The image's alt text in the active language. Empty when none was written: pages show
        the image next to the product's name, so it is then decorative, not a second name."""
        return self.image_alt_en if (get_language() or "ja").startswith("en") else self.image_alt_ja

    @property
    def is_exchangeable(self) -> bool:
        return self.is_active and self.point_cost is not None


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("member"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    next_shipment_date = models.DateField(_("next shipment date"))
    months_subscribed = models.PositiveIntegerField(
        _("consecutive months subscribed"),
        default=0,
        help_text=_("Orders created in a row; the next order is month months_subscribed + 1."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="active"), name="one_active_subscription_per_member"
            ),
        ]
        indexes = [models.Index(fields=["status", "next_shipment_date"], name="subscription_due_idx")]

    def __str__(self) -> str:
        return f"{self.member.member_number} {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class SubscriptionItem(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="items", verbose_name=_("subscription")
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("subscription item")
        verbose_name_plural = _("subscription items")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "subscription", "product"], name="subscription_item_product_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="subscription_item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} × {self.quantity}"


class SubscriptionOrder(models.Model):
    """One monthly order of a subscription; when it ships, its PV earns points."""

    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        SHIPPED = "shipped", _("Shipped")
        RETURNED = "returned", _("Returned")
        CANCELLED = "cancelled", _("Cancelled")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="orders", verbose_name=_("member"))
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="orders", verbose_name=_("subscription")
    )
    number = models.CharField(_("order number"), max_length=32)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.CREATED)
    shipment_date = models.DateField(_("shipment date"))
    months_subscribed = models.PositiveIntegerField(_("consecutive month of the subscription"), default=1)
    pv = models.DecimalField(_("PV"), max_digits=12, decimal_places=2, default=Decimal("0"))
    total_incl_tax = models.PositiveIntegerField(_("total (incl. tax)"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscription order")
        verbose_name_plural = _("subscription orders")
        permissions = [
            ("mark_order_shipped", _("Can mark subscription orders shipped")),
            ("mark_order_returned", _("Can mark subscription orders returned (claws back points)")),
        ]
        ordering = ["-shipment_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "number"], name="order_number_unique_per_member"),
            models.UniqueConstraint(
                fields=["member", "subscription", "shipment_date"],
                condition=~Q(status="cancelled"),
                name="one_order_per_subscription_and_date",
            ),
            models.CheckConstraint(condition=Q(months_subscribed__gte=1), name="order_months_subscribed_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["created", "cancelled"]) | Q(shipped_at__isnull=False),
                name="shipped_order_has_shipped_at",
            ),
        ]
        indexes = [
            models.Index(fields=["number"], name="order_number_idx"),
            models.Index(fields=["status", "shipped_at"], name="order_status_shipped_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class SubscriptionOrderLine(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    order = models.ForeignKey(
        SubscriptionOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("subscription order")
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price_incl_tax = models.PositiveIntegerField(_("unit price (incl. tax)"))
    tax_rate = models.PositiveSmallIntegerField(_("tax rate (%)"))
    unit_pv = models.DecimalField(_("unit PV"), max_digits=10, decimal_places=2)
    is_reward = models.BooleanField(_("reward item"), default=False)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} × {self.quantity}"
