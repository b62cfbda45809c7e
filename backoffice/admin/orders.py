"""Subscriptions and their orders in admin: read-only; orders ship or return only through
``fulfilment.services`` (the actions below)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.admin.base import (
    LargeTableAdminMixin,
    NumbersAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    reason_action_page,
    yen_field,
)
from fulfilment import services as lifecycle
from subscriptions.models import Subscription, SubscriptionItem, SubscriptionOrder, SubscriptionOrderLine

# -- subscriptions and orders (read-only; changed through the services) ------------------------


class SubscriptionItemInline(ReadOnlyInline):
    model = SubscriptionItem
    fields = ["product", "quantity"]
    readonly_fields = fields


class OrderLineInline(ReadOnlyInline):
    model = SubscriptionOrderLine
    fields = ["product", "quantity", "unit_price_incl_tax_yen", "tax_rate", "unit_pv", "is_reward"]
    readonly_fields = fields
    unit_price_incl_tax_yen = yen_field(SubscriptionOrderLine, "unit_price_incl_tax")


@admin.register(Subscription)
class SubscriptionAdmin(NumbersAdminMixin, LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["member", "status", "next_shipment_date", "months_subscribed", "created_at"]
    list_filter = ["status"]
    search_fields = ["=member__member_number"]
    list_select_related = ["member"]
    raw_id_fields = ["member"]
    inlines = [SubscriptionItemInline]


@admin.register(SubscriptionOrder)
class SubscriptionOrderAdmin(NumbersAdminMixin, LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "member",
        "status",
        "shipment_date",
        "months_subscribed",
        "total_incl_tax_yen",
        "pv",
        "shipped_at",
        "returned_at",
    ]
    total_incl_tax_yen = yen_field(SubscriptionOrder, "total_incl_tax")
    list_filter = ["status"]
    search_fields = ["=number", "=member__member_number"]
    list_select_related = ["member"]
    raw_id_fields = ["member", "subscription"]
    inlines = [OrderLineInline]
    actions = ["mark_shipped", "mark_returned"]

    def has_mark_order_shipped_permission(self, request):
        return request.user.has_perm("subscriptions.mark_order_shipped")

    def has_mark_order_returned_permission(self, request):
        return request.user.has_perm("subscriptions.mark_order_returned")

    @admin.action(
        description=gettext_lazy("Mark selected orders shipped (grants their points)"),
        permissions=["mark_order_shipped"],
    )
    def mark_shipped(self, request, queryset):
        shipped = 0
        for order in queryset.filter(status=SubscriptionOrder.Status.CREATED):
            order = lifecycle.order_mark_shipped(order=order)
            if order.status == SubscriptionOrder.Status.SHIPPED:
                shipped += 1
                self.log_change(request, order, _("Marked shipped"))
        skipped = queryset.count() - shipped
        messages.success(request, _("%(count)d order(s) marked shipped.") % {"count": shipped})
        if skipped:
            messages.warning(
                request, _("%(count)d order(s) skipped: only created orders can ship.") % {"count": skipped}
            )

    @admin.action(
        description=gettext_lazy("Mark selected orders returned (claws back their points)…"),
        permissions=["mark_order_returned"],
    )
    def mark_returned(self, request, queryset):
        orders = list(queryset.select_related("member"))
        reason = reason_action_page(
            self,
            request,
            objects=orders,
            action="mark_returned",
            title=_("Mark orders returned"),
            explanation=_(
                "These orders will be marked returned and the points they granted taken back. Points already "
                "spent are taken from other lots; what they cannot cover becomes a debt the member repays "
                "from later grants."
            ),
            button=_("Mark returned"),
            reason_label=_("Reason (kept in the ledger for staff; the member reads that the order was returned)"),
        )
        if not isinstance(reason, str):
            return reason
        returned, skipped = 0, 0
        for order in orders:
            if order.status != SubscriptionOrder.Status.SHIPPED:
                skipped += 1
                continue
            order = lifecycle.order_mark_returned(order=order, staff_user=request.user, reason=reason)
            returned += 1
            self.log_change(request, order, _("Marked returned: %(reason)s") % {"reason": reason})
        if returned:
            messages.success(
                request,
                _("%(count)d order(s) marked returned; their points were clawed back.") % {"count": returned},
            )
        if skipped:
            messages.warning(
                request, _("%(count)d order(s) skipped: only shipped orders can be returned.") % {"count": skipped}
            )
        return None
