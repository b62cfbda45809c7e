from django.contrib import admin

from order_events.models import OrderEvent


@admin.register(OrderEvent)
class OrderEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "kind", "order", "occurred_at", "received_at"]
    list_filter = ["kind"]
    search_fields = ["event_id", "order__number", "member__member_number"]
    raw_id_fields = ["member", "order"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
