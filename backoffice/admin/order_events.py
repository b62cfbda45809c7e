from django.contrib import admin

from backoffice.admin.base import ReadOnlyAdminMixin
from order_events.models import OrderEvent


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["event_id", "kind", "order", "occurred_at", "received_at"]
    list_filter = ["kind"]
    search_fields = ["event_id", "order__number", "member__member_number"]
    raw_id_fields = ["member", "order"]
