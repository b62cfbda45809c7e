"""Exchanges in admin: the CX agent places one for a member, cancels one, works the request queue.

Every figure comes from ``exchange.quotes.quote_build`` and every write from
``exchange.services``; this module only collects input and shows results (docs/admin.md).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.admin.base import (
    LargeTableAdminMixin,
    NumbersAdminMixin,
    ReadOnlyAdminMixin,
    reason_action_page,
    yen_field,
)
from backoffice.forms import StaffExchangeForm
from exchange import services
from exchange.exceptions import NotCancellable, QuoteChanged
from exchange.models import Exchange, ExchangeChange, ExchangeLine, ExchangeRequest
from exchange.quotes import quote_build
from exchange.selectors import box_of
from exchange.services import lines_added
from ssr_points.exceptions import PointsError
from ssr_points.selectors import points_available
from subscriptions.models import Member, Product
from subscriptions.templatetags.ssr_format import yen

# The member reads it: on the exchange's page and in the cancellation email (exchange/templates).
CANCEL_REASON_LABEL = gettext_lazy("Reason (the member reads it on the exchange's page and in the cancellation email)")


class ExchangeLineInline(NumbersAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = ExchangeLine
    extra = 0
    can_delete = False
    fields = ["product", "quantity", "unit_points", "tax_rate"]
    readonly_fields = fields


class ExchangeChangeInline(NumbersAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """Each change of the box: who, when, the points before and after, the fee and total after,
    and its rewards after it (the receipt of that change)."""

    model = ExchangeChange
    extra = 0
    can_delete = False
    fields = [
        "revision",
        "kind",
        "created_at",
        "staff_user",
        "points_before",
        "points",
        "charge_yen",
        "total_yen",
        "rewards",
    ]
    readonly_fields = fields
    ordering = ["revision"]
    verbose_name_plural = gettext_lazy("Changes of this exchange")

    @admin.display(description=gettext_lazy("charged for the exchange (incl. tax)"))
    def charge_yen(self, change) -> str:
        return yen(change.charge_incl_tax)

    @admin.display(description=gettext_lazy("total"))
    def total_yen(self, change) -> str:
        return yen(change.total)

    @admin.display(description=gettext_lazy("reward lines after the change"))
    def rewards(self, change) -> str:
        return "、".join(f"{line['name_ja']} × {line['quantity']}" for line in change.lines) or "—"


@admin.register(Exchange)
class ExchangeAdmin(NumbersAdminMixin, LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # Placed through place_for_member_view → exchange_place; cancelled by its action.
    list_display = [
        "number",
        "member",
        "status",
        "ship_now",
        "points",
        "total_yen",
        "pv",
        "order",
        "placed_by",
        "created_at",
    ]
    list_filter = ["status", "ship_now"]
    search_fields = ["=number", "=member__member_number"]
    list_select_related = ["member", "order", "placed_by"]
    raw_id_fields = ["member", "redemption", "reversal", "order", "placed_by"]
    inlines = [ExchangeLineInline, ExchangeChangeInline]
    actions = ["cancel_selected"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "member",
                    "status",
                    "ship_now",
                    "order",
                    "placed_by",
                    "created_at",
                    "revision",
                    "changed_at",
                ]
            },
        ),
        (
            gettext_lazy("Confirmation figures"),
            {
                "fields": [
                    "points",
                    "subtotal_excl_tax_yen",
                    "exchange_fee_excl_tax_yen",
                    "handling_fee_excl_tax_yen",
                    "tax_yen",
                    "tax_by_rate",
                    "total_yen",
                    "pv",
                    "fee_units",
                    "charge_incl_tax_yen",
                ]
            },
        ),
        (gettext_lazy("Ledger"), {"fields": ["redemption", "reversal", "shipped_at", "cancelled_at"]}),
    ]
    readonly_fields = [
        "tax_by_rate",
        "subtotal_excl_tax_yen",
        "exchange_fee_excl_tax_yen",
        "handling_fee_excl_tax_yen",
        "tax_yen",
        "total_yen",
        "charge_incl_tax_yen",
    ]
    subtotal_excl_tax_yen = yen_field(Exchange, "subtotal_excl_tax")
    exchange_fee_excl_tax_yen = yen_field(Exchange, "exchange_fee_excl_tax")
    handling_fee_excl_tax_yen = yen_field(Exchange, "handling_fee_excl_tax")
    tax_yen = yen_field(Exchange, "tax")
    total_yen = yen_field(Exchange, "total")
    charge_incl_tax_yen = yen_field(Exchange, "charge_incl_tax")

    @admin.display(description=gettext_lazy("tax by rate"))
    def tax_by_rate(self, obj):
        """The qualified invoice's breakdown recorded with the exchange (``ExchangeTaxLine``)."""
        tax_lines = list(obj.tax_lines.filter(member_id=obj.member_id).order_by("rate"))
        if not tax_lines and obj.tax:
            return _("Not recorded: placed before the tax by rate was stored.")
        return format_html_join(
            "",
            '<div class="tax-line">{}</div>',
            (
                (
                    _("%(rate)s%%: %(amount_incl_tax)s incl. tax (%(amount_excl_tax)s excl. tax), tax %(tax)s")
                    % {
                        "rate": line.rate,
                        "amount_incl_tax": yen(line.amount_incl_tax),
                        "amount_excl_tax": yen(line.amount_excl_tax),
                        "tax": yen(line.tax),
                    },
                )
                for line in tax_lines
            ),
        )

    def has_cancel_exchange_permission(self, request):
        return request.user.has_perm("exchange.cancel_exchange")

    @admin.action(
        description=gettext_lazy("Cancel selected exchanges (points back to their lots)…"),
        permissions=["cancel_exchange"],
    )
    def cancel_selected(self, request, queryset):
        exchanges = list(queryset.select_related("member"))
        reason = reason_action_page(
            self,
            request,
            objects=exchanges,
            action="cancel_selected",
            title=_("Cancel exchanges"),
            explanation=_("The points of these exchanges go back to the lots they came from, with their expiry."),
            button=_("Cancel exchanges"),
            reason_label=CANCEL_REASON_LABEL,
        )
        if not isinstance(reason, str):
            return reason
        cancelled = sum(self._cancel(request, exchange, reason) for exchange in exchanges)
        if cancelled:
            messages.success(request, _("%(count)d exchange(s) cancelled.") % {"count": cancelled})
        return None

    def cancel_view(self, request, object_id):
        """The exchange's own cancel button: the reason page, then ``exchange_cancel``, then the
        exchange's page again (docs/admin.md)."""
        if not self.has_cancel_exchange_permission(request):
            raise PermissionDenied
        exchange = get_object_or_404(Exchange.objects.select_related("member"), pk=object_id)
        change_url = reverse("admin:exchange_exchange_change", args=[exchange.pk])
        if not exchange.is_cancellable:
            messages.error(request, str(NotCancellable(number=exchange.number)))
            return HttpResponseRedirect(change_url)
        reason = reason_action_page(
            self,
            request,
            objects=[exchange],
            action=None,
            title=_("Cancel exchange %(number)s") % {"number": exchange.number},
            explanation=_("The points of this exchange go back to the lots they came from, with their expiry."),
            button=_("Cancel the exchange"),
            reason_label=CANCEL_REASON_LABEL,
        )
        if not isinstance(reason, str):
            return reason
        if self._cancel(request, exchange, reason):
            messages.success(request, _("Exchange %(number)s cancelled.") % {"number": exchange.number})
        return HttpResponseRedirect(change_url)

    def _cancel(self, request, exchange, reason: str) -> bool:
        if exchange.status == Exchange.Status.CANCELLED:
            return False
        try:
            services.exchange_cancel(exchange=exchange, staff_user=request.user, reason=reason)
        except PointsError as error:
            messages.error(request, str(error))
            return False
        self.log_change(request, exchange, _("Cancelled: %(reason)s") % {"reason": reason})
        return True

    # -- place an exchange for a member: choose → seven-line confirmation → exchange_place -------

    def get_urls(self):
        return [
            path(
                "<int:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="exchange_exchange_cancel",
            ),
            path(
                "place-for/<int:member_id>/",
                self.admin_site.admin_view(self.place_for_member_view),
                name="exchange_exchange_place_for_member",
            ),
            *super().get_urls(),
        ]

    def place_for_member_view(self, request, member_id):
        if not request.user.has_perm("exchange.place_exchange_for_member"):
            raise PermissionDenied
        member = get_object_or_404(Member.objects.select_related("market", "user"), pk=member_id)
        request_id = request.POST.get("exchange_request") or request.GET.get("request")
        exchange_request = (
            ExchangeRequest.objects.filter(pk=request_id, member=member).first()
            if request_id and str(request_id).isdigit()
            else None
        )
        products = Product.objects.filter(market=member.market, is_active=True, point_cost__isnull=False).order_by(
            "sku"
        )
        form = StaffExchangeForm(request.POST or None, products=products)
        quote = None
        if request.method == "POST" and form.is_valid() and "edit" not in request.POST:
            lines, ship_now = form.lines(), form.cleaned_data["ship_now"]
            key = form.cleaned_data["idempotency_key"]
            try:
                if "confirm" in request.POST and request.POST.get("agreed"):
                    return self._place(request, member, lines, ship_now, key, exchange_request)
                if "confirm" in request.POST:
                    messages.error(request, _("Tick the box to confirm the member agreed to these figures."))
                # Bundled, the rewards join the member's box: the figures are the whole box's.
                box = None if ship_now else box_of(member=member)
                quote = quote_build(
                    member=member, lines=lines if ship_now else lines_added(box, lines), ship_now=ship_now, box=box
                )
            except QuoteChanged as changed:
                quote = changed.quote
                messages.warning(request, str(changed))
            except PointsError as error:
                messages.error(request, str(error))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Place an exchange for %(member)s") % {"member": member},
            "opts": self.opts,
            "member_opts": Member._meta,
            "member": member,
            "available": points_available(member=member),
            "form": form,
            "quote": quote,
            "shortfall": quote.points_delta - quote.available_points if quote is not None else None,
            "exchange_request": exchange_request,
        }
        return TemplateResponse(request, "admin/exchange/exchange/place_for_member.html", context)

    def _place(self, request, member, lines, ship_now, key, exchange_request):
        already = ExchangeChange.objects.filter(member=member, idempotency_key=key).exists()
        exchange = services.exchange_place(
            member=member,
            lines=lines,
            ship_now=ship_now,
            idempotency_key=key,
            expected_fingerprint=request.POST.get("fingerprint") or None,
            staff_user=request.user,
        )
        if not already:
            self.log_addition(request, exchange, _("Placed for member %(member)s") % {"member": member.member_number})
            if exchange_request is not None:
                services.exchange_request_handle(
                    exchange_request=exchange_request,
                    status=ExchangeRequest.Status.DONE,
                    staff_user=request.user,
                    exchange=exchange,
                )
        messages.success(
            request,
            _("Exchange %(number)s placed for %(member)s: %(points)s points.")
            % {"number": exchange.number, "member": member, "points": f"{exchange.points:,}"},
        )
        return HttpResponseRedirect(reverse("admin:exchange_exchange_change", args=[exchange.pk]))


@admin.register(ExchangeRequest)
class ExchangeRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Members send requests (exchange_request_create); staff handle them with the actions.
    """The queue of bank-transfer / direct-debit members' requests, oldest open first."""

    list_display = [
        "created_at",
        "member_link",
        "status",
        "contact_phone",
        "short_message",
        "chosen_lines",
        "handled_by",
        "exchange",
        "close_reason",
        "place_link",
    ]
    list_filter = ["status"]
    search_fields = ["=member__member_number"]
    list_select_related = ["member", "handled_by", "exchange"]
    raw_id_fields = ["member", "exchange", "handled_by"]
    actions = ["mark_in_progress", "close_without_exchange"]
    # The rewards the member picked (issue 22), read as text rather than the stored JSON.
    exclude = ["lines"]
    readonly_fields = ["chosen_lines"]

    def get_ordering(self, request):
        # Open first, then in progress, then done / closed; oldest first within a status.
        queue = Case(
            *(When(status=status, then=Value(i)) for i, status in enumerate(ExchangeRequest.Status.values)),
            output_field=IntegerField(),
        )
        return [queue.asc(), "created_at"]

    def has_handle_permission(self, request):
        return request.user.has_perm("exchange.change_exchangerequest")

    @admin.display(description=gettext_lazy("member"), ordering="member__member_number")
    def member_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:subscriptions_member_change", args=[obj.member_id]), obj.member
        )

    @admin.display(description=gettext_lazy("message"))
    def short_message(self, obj):
        return Truncator(obj.message).chars(60)

    @admin.display(description=gettext_lazy("rewards chosen"))
    def chosen_lines(self, obj):
        return obj.lines_text

    @admin.display(description=gettext_lazy("exchange for the member"))
    def place_link(self, obj):
        if obj.status in (ExchangeRequest.Status.DONE, ExchangeRequest.Status.CLOSED):
            return ""
        url = reverse("admin:exchange_exchange_place_for_member", args=[obj.member_id])
        return format_html('<a href="{}?{}">{}</a>', url, urlencode({"request": obj.pk}), _("Place exchange"))

    def _handle(self, request, queryset, status, message):
        count = 0
        for exchange_request in queryset:
            services.exchange_request_handle(exchange_request=exchange_request, status=status, staff_user=request.user)
            self.log_change(request, exchange_request, message)
            count += 1
        messages.success(request, _("%(count)d request(s) updated.") % {"count": count})

    @admin.action(description=gettext_lazy("Mark selected requests in progress"), permissions=["handle"])
    def mark_in_progress(self, request, queryset):
        self._handle(request, queryset, ExchangeRequest.Status.IN_PROGRESS, _("Marked in progress"))

    @admin.action(description=gettext_lazy("Close selected requests without an exchange…"), permissions=["handle"])
    def close_without_exchange(self, request, queryset):
        """Asks for the reason the member is told (emailed, and on their page), then closes."""
        open_requests = list(
            queryset.exclude(status__in=[ExchangeRequest.Status.DONE, ExchangeRequest.Status.CLOSED]).select_related(
                "member"
            )
        )
        if not open_requests:
            messages.warning(request, _("These requests are already done or closed."))
            return None
        reason = reason_action_page(
            self,
            request,
            objects=open_requests,
            action="close_without_exchange",
            title=_("Close requests without an exchange"),
            explanation=_(
                "No exchange is placed for these requests. Each member is emailed the reason below and reads it "
                "on their exchange page."
            ),
            button=_("Close and tell the members"),
            reason_label=_("Reason (emailed to the member and shown on their exchange page)"),
        )
        if not isinstance(reason, str):
            return reason
        for exchange_request in open_requests:
            services.exchange_request_handle(
                exchange_request=exchange_request,
                status=ExchangeRequest.Status.CLOSED,
                staff_user=request.user,
                reason=reason,
            )
            self.log_change(request, exchange_request, _("Closed without exchange: %(reason)s") % {"reason": reason})
        messages.success(request, _("%(count)d request(s) updated.") % {"count": len(open_requests)})
        return None
