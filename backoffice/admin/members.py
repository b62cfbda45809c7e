"""Members in admin: the member page, search, adjusting points (docs/admin.md).

Every write that touches points goes through a service: the adjustment view calls
``ssr_points.services.points_adjust_by_staff``, the order actions call
``fulfilment.services.order_mark_shipped`` / ``order_mark_returned``. Subscriptions and
orders are read-only here; they change only through those services.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, F, IntegerField, OrderBy, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.admin.base import LargeTableAdminMixin, ReadOnlyInline
from backoffice.forms import PointsAdjustmentForm
from exchange.models import Exchange, ExchangeRequest
from ssr_points.exceptions import PointsError
from ssr_points.models import Entry, Lot
from ssr_points.selectors import points_available
from ssr_points.services import points_adjust_by_staff
from subscriptions.models import (
    Member,
    Subscription,
    SubscriptionOrder,
)
from subscriptions.search import members_search

# -- members (CX) -----------------------------------------------------------------------------


class LotInline(ReadOnlyInline):
    model = Lot
    verbose_name_plural = gettext_lazy("lots (open lots first, soonest expiry first)")
    fields = ["granted_at", "expires_at", "amount", "remaining", "expired", "order"]
    readonly_fields = fields

    def get_queryset(self, request):
        spent = Case(When(remaining__gt=0, then=Value(0)), default=Value(1), output_field=IntegerField())
        return super().get_queryset(request).select_related("order").order_by(spent, "expires_at", "id")


class EntryInline(ReadOnlyInline):
    model = Entry
    fk_name = "member"
    verbose_name_plural = gettext_lazy("ledger history")
    fields = ["created_at", "kind", "points", "reason", "reference", "staff_user"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("staff_user").order_by("-created_at", "-id")


class SubscriptionInline(ReadOnlyInline):
    model = Subscription
    fields = ["status", "next_shipment_date", "months_subscribed", "created_at"]
    readonly_fields = fields
    show_change_link = True


class OrderInline(ReadOnlyInline):
    model = SubscriptionOrder
    verbose_name_plural = gettext_lazy("subscription orders")
    fields = ["number", "status", "shipment_date", "months_subscribed", "total_incl_tax", "pv", "shipped_at"]
    readonly_fields = fields
    show_change_link = True


class ExchangeInline(ReadOnlyInline):
    model = Exchange
    fields = ["number", "status", "ship_now", "points", "total", "placed_by", "created_at"]
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("placed_by")


class ExchangeRequestInline(ReadOnlyInline):
    model = ExchangeRequest
    fk_name = "member"
    fields = ["created_at", "status", "message", "contact_phone", "handled_by", "exchange"]
    readonly_fields = fields


@admin.register(Member)
class MemberAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "member_number",
        "name_with_kana",
        "email",
        "phone",
        "payment_method",
        "available_points",
        "has_active_subscription",
    ]
    list_filter = ["payment_method", "market"]
    # What CX agents type: member number (exact), name and kana (anywhere), email (whole
    # address, any case), phone (digits anywhere). get_search_results matches them the way the
    # indexes serve at 10M members (subscriptions/search.py, docs/admin.md).
    search_fields = ["=member_number", "name", "name_kana", "=user__email", "phone"]
    search_help_text = gettext_lazy("Member number, name, name (kana), email or phone.")
    list_select_related = ["user", "market"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "member_number",
        "user",
        "email",
        "market",
        "joined_at",
        "available_points",
        "point_balance",
        "point_debt",
        "ledger_links",
    ]
    fieldsets = [
        (None, {"fields": ["member_number", "name", "name_kana", "email", "phone", "user"]}),
        (gettext_lazy("Payment"), {"fields": ["payment_method", "market", "joined_at"]}),
        (
            gettext_lazy("SSR points"),
            {"fields": ["available_points", "point_balance", "point_debt", "ledger_links"]},
        ),
    ]
    inlines = [LotInline, EntryInline, SubscriptionInline, OrderInline, ExchangeInline, ExchangeRequestInline]

    def get_queryset(self, request):
        now = timezone.now()
        spendable = (
            Lot.objects.filter(member=OuterRef("pk"))
            .spendable(at=now)
            .values("member")
            .annotate(points=Sum("remaining"))
            .values("points")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("point_account")
            .annotate(
                points_left=Coalesce(Subquery(spendable), Value(0)) - Coalesce(F("point_account__debt"), Value(0)),
                # A scalar subquery, not Exists: PostgreSQL may answer an EXISTS column by hashing
                # every active subscription once per page (measured: most of the changelist's time
                # at 200k members, bench/member_search.py); this reads one index entry per row.
                subscribed=Coalesce(
                    Subquery(
                        Subscription.objects.filter(member=OuterRef("pk"), status=Subscription.Status.ACTIVE).values(
                            active=Value(True)
                        )[:1]
                    ),
                    Value(False),
                ),
            )
        )

    def get_search_results(self, request, queryset, search_term):
        return members_search(queryset, search_term), False

    def get_ordering(self, request):
        if request.GET.get(SEARCH_VAR):
            # Newest first as without a search, but by an expression: sorted on the primary key
            # itself PostgreSQL may walk the key backwards testing every member until 100 match,
            # which for a search matching few or none reads the whole table. This way it takes the
            # matches from the search indexes and sorts them (bench/member_search.py).
            return [OrderBy(F("pk") + 0, descending=True)]
        return super().get_ordering(request)

    def has_add_permission(self, request):
        return False  # members join through subscriptions.services.member_create (login + point account)

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger keeps pointing at the member

    @admin.display(description=gettext_lazy("name (kana)"), ordering="name_kana")
    def name_with_kana(self, obj):
        return format_html("{}<br><small>{}</small>", obj.name, obj.name_kana) if obj.name_kana else obj.name

    @admin.display(description=gettext_lazy("email"), ordering="user__email")
    def email(self, obj):
        return obj.user.email

    @admin.display(description=gettext_lazy("available points"), ordering="points_left")
    def available_points(self, obj):
        if hasattr(obj, "points_left"):
            return obj.points_left
        return points_available(member=obj)

    @admin.display(description=gettext_lazy("active subscription"), boolean=True, ordering="subscribed")
    def has_active_subscription(self, obj):
        return obj.subscribed

    @admin.display(description=gettext_lazy("recorded balance"))
    def point_balance(self, obj):
        account = getattr(obj, "point_account", None)
        return account.balance if account else 0

    @admin.display(description=gettext_lazy("debt from returned orders"))
    def point_debt(self, obj):
        account = getattr(obj, "point_account", None)
        return account.debt if account else 0

    @admin.display(description=gettext_lazy("ledger"))
    def ledger_links(self, obj):
        query = urlencode({"member__id__exact": obj.pk})
        return format_html(
            '<a href="{}?{}">{}</a> · <a href="{}?{}">{}</a>',
            reverse("admin:ssr_points_entry_changelist"),
            query,
            _("all ledger entries"),
            reverse("admin:ssr_points_lot_changelist"),
            query,
            _("all lots"),
        )

    # -- adjust points: form → confirmation → points_adjust_by_staff ---------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/adjust-points/",
                self.admin_site.admin_view(self.adjust_points_view),
                name="subscriptions_member_adjust_points",
            ),
            *super().get_urls(),
        ]

    def adjust_points_view(self, request, object_id):
        if not request.user.has_perm("ssr_points.adjust_points"):
            raise PermissionDenied
        member = member_or_404(object_id)
        available = points_available(member=member)
        confirming = False
        form = PointsAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            points, reason = form.cleaned_data["points"], form.cleaned_data["reason"]
            if "confirm" in request.POST:
                key = f"admin-adjust:{form.cleaned_data['idempotency_key']}"
                repeated = Entry.objects.filter(member=member, idempotency_key=key).exists()
                try:
                    entry = points_adjust_by_staff(
                        member=member, points=points, reason=reason, staff_user=request.user, idempotency_key=key
                    )
                except PointsError as error:
                    messages.error(request, str(error))
                else:
                    if not repeated:
                        self.log_change(
                            request,
                            member,
                            _("Adjusted points %(points)+d: %(reason)s")
                            % {"points": entry.points, "reason": entry.reason},
                        )
                    messages.success(
                        request,
                        _("Points adjusted by %(points)+d for %(member)s.")
                        % {"points": entry.points, "member": member},
                    )
                    return HttpResponseRedirect(reverse("admin:subscriptions_member_change", args=[member.pk]))
            else:
                confirming = True
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust points"),
            "opts": self.opts,
            "original": member,
            "member": member,
            "form": form,
            "confirming": confirming,
            "available": available,
            "available_after": available + form.cleaned_data["points"] if confirming else None,
            "limit": _adjustment_limit(request.user),
        }
        return TemplateResponse(request, "admin/subscriptions/member/adjust_points.html", context)


def member_or_404(object_id) -> Member:
    """The member of an admin URL, or 404 for an id that is not one (``abc``, ``1e99``, a NUL)."""
    try:
        pk = Member._meta.pk.to_python(unquote(object_id))
    except ValidationError:
        raise Http404 from None
    return get_object_or_404(Member.objects.select_related("market", "user"), pk=pk)


def _adjustment_limit(user) -> int | None:
    return None if user.has_perm("ssr_points.adjust_points_unlimited") else settings.SSR_CX_ADJUSTMENT_LIMIT
