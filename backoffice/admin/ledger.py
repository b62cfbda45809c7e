"""The ledger in admin: read-only for everyone, superusers included (docs/admin.md).

Entries and allocations are only ever inserted by ``ssr_points.services``; admin can show
them, never add, change or delete them.
"""

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backoffice.admin.base import LargeTableAdminMixin, NumbersAdminMixin, ReadOnlyAdminMixin, expiry_fields
from ssr_points.models import Allocation, Entry, Lot, PointAccount
from subscriptions.models import SubscriptionOrder


class LedgerReadOnlyAdmin(NumbersAdminMixin, LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger's tables: written by the services only, and as large as the program."""


@admin.register(PointAccount)
class PointAccountAdmin(LedgerReadOnlyAdmin):
    list_display = ["member", "balance", "debt", "updated_at"]
    search_fields = ["=member__member_number"]
    list_select_related = ["member"]
    raw_id_fields = ["member"]


@admin.register(Lot)
class LotAdmin(LedgerReadOnlyAdmin):
    # The expiry as the last valid day in the list; the detail adds the exact instant (docs/admin.md).
    list_display = ["id", "member", "order", "amount", "remaining", "expired", "granted_at", "valid_until"]
    fields = ["member", "order", "amount", "remaining", "expired", "granted_at", "valid_until", "expiry_instant"]
    readonly_fields = ["valid_until", "expiry_instant"]
    search_fields = ["=member__member_number"]
    list_select_related = ["member__market", "order"]
    raw_id_fields = ["member", "order"]

    valid_until, expiry_instant = expiry_fields(lambda lot: lot.member.market)

    def get_search_results(self, request, queryset, search_term):
        """A member number, or an order number: the order's lot is found by (member, order), the
        index of ``one_grant_per_order`` (lots have no index on the order alone, docs/ledger.md)."""
        term = search_term.strip()
        orders = list(SubscriptionOrder.objects.filter(number=term).values_list("member_id", "pk")[:20]) if term else []
        if orders:
            by_order = Q(pk__in=[])
            for member_id, order_id in orders:
                by_order |= Q(member_id=member_id, order_id=order_id)
            return queryset.filter(by_order), False
        return super().get_search_results(request, queryset, search_term)


class AllocationInline(NumbersAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Allocation
    fk_name = "entry"
    extra = 0
    can_delete = False
    fields = ["lot", "points"]
    readonly_fields = fields
    verbose_name_plural = _("lots taken from (+) or given back to (−)")


@admin.register(Entry)
class EntryAdmin(LedgerReadOnlyAdmin):
    list_display = ["created_at", "member", "kind", "points", "reason", "reference", "staff_user"]
    list_filter = ["kind"]
    search_fields = ["=member__member_number", "=reference"]
    list_select_related = ["member", "staff_user"]
    raw_id_fields = ["member", "lot", "order", "reverses", "staff_user"]
    inlines = [AllocationInline]


@admin.register(Allocation)
class AllocationAdmin(LedgerReadOnlyAdmin):
    list_display = ["id", "member", "entry", "lot", "points"]
    search_fields = ["=member__member_number"]
    list_select_related = ["member", "entry", "lot"]
    raw_id_fields = ["member", "entry", "lot"]
