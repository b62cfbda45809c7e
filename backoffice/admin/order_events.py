"""Signed order events in admin: read-only, written by ``order_events.services`` only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backoffice.admin.base import ReadOnlyAdminMixin, member_link, order_link
from order_events.models import OrderEvent


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["event_id", "kind", "order_number", "occurred_at", "received_at"]
    list_filter = ["kind"]
    search_fields = ["event_id", "order__number", "member__member_number"]
    list_select_related = ["order", "member"]
    fields = ["event_id", "kind", "member_number", "order_number", "occurred_at", "received_at", "body_sha256"]
    readonly_fields = ["member_number", "order_number"]

    @admin.display(description=_("member"), ordering="member__member_number")
    def member_number(self, obj):
        return member_link(obj.member)

    @admin.display(description=_("subscription order"), ordering="order__number")
    def order_number(self, obj):
        return order_link(obj.order)
