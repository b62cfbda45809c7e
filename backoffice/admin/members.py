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
from django.db.models import F, OrderBy, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.admin.base import LargeTableAdminMixin, whole_number
from backoffice.forms import ContactNoteForm, PointsAdjustmentForm
from backoffice.member_page import member_login_lockout, member_summary, member_timeline
from backoffice.services import ContactNoteRefused, LockoutLiftRefused, contact_note_add, login_lockout_lift
from exchange.models import Exchange
from ssr_points.adjustments import points_adjust_by_staff_refusal
from ssr_points.exceptions import DailyAdditionCapReached, PointsError
from ssr_points.models import Entry, Lot
from ssr_points.roles import daily_cap_approvers, daily_points_added_cap
from ssr_points.selectors import points_available
from ssr_points.services import points_added_by_staff_today, points_adjust_by_staff
from subscriptions.models import (
    Member,
    Subscription,
    SubscriptionOrder,
)
from subscriptions.search import members_search

# -- members (CX) -----------------------------------------------------------------------------


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
    search_help_text = gettext_lazy(
        "Member number, name or kana (either order), email, phone, exchange number or order number."
    )
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
    # No inlines: the member page (change_form.html) shows the summary and one paginated
    # timeline (backoffice/member_page.py) instead of a table per model, thousands of rows long.

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
        return members_search(queryset, search_term, number_lookups=[exchange_members, order_members]), False

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
        return whole_number(obj.points_left if hasattr(obj, "points_left") else points_available(member=obj))

    @admin.display(description=gettext_lazy("active subscription"), boolean=True, ordering="subscribed")
    def has_active_subscription(self, obj):
        return obj.subscribed

    @admin.display(description=gettext_lazy("recorded balance"))
    def point_balance(self, obj):
        account = getattr(obj, "point_account", None)
        return whole_number(account.balance if account else 0)

    @admin.display(description=gettext_lazy("debt from returned orders"))
    def point_debt(self, obj):
        account = getattr(obj, "point_account", None)
        return whole_number(account.debt if account else 0)

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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        member = self.get_object(request, unquote(object_id))
        if member is not None and self.has_view_or_change_permission(request, member):
            extra_context = {
                **(extra_context or {}),
                "summary": member_summary(member=member),
                "lockout": member_login_lockout(member=member),
                "timeline": member_timeline(member=member, page=request.GET.get(TIMELINE_PAGE_VAR) or 1),
                "timeline_page_var": TIMELINE_PAGE_VAR,
                "note_form": ContactNoteForm() if request.user.has_perm("backoffice.add_contactnote") else None,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def add_note_view(self, request, object_id):
        """POST only: append a contact note (``contact_note_add``) and go back to the member page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("backoffice.add_contactnote"):
            raise PermissionDenied
        member = member_or_404(object_id)
        form = ContactNoteForm(request.POST)
        if form.is_valid():
            try:
                note = contact_note_add(member=member, staff_user=request.user, text=form.cleaned_data["text"])
            except ContactNoteRefused as refused:
                messages.error(request, str(refused))
            else:
                self.log_change(request, member, _("Contact note added"))
                messages.success(request, _("Contact note added."))
                return HttpResponseRedirect(reverse("admin:subscriptions_member_change", args=[note.member_id]))
        else:
            messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return HttpResponseRedirect(reverse("admin:subscriptions_member_change", args=[member.pk]) + "#contact-note")

    def lift_lockout_view(self, request, object_id):
        """POST only: a CX supervisor ends the member's login lockout (``login_lockout_lift``); the
        timeline records it."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("backoffice.lift_login_lockout"):
            raise PermissionDenied
        member = member_or_404(object_id)
        try:
            lift = login_lockout_lift(member=member, staff_user=request.user)
        except LockoutLiftRefused as refused:
            messages.error(request, str(refused))
        else:
            self.log_change(request, member, _("Login lockout lifted (%(addresses)s)") % {"addresses": lift.addresses})
            messages.success(request, _("The member can log in again from every address."))
        return HttpResponseRedirect(reverse("admin:subscriptions_member_change", args=[member.pk]))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/lift-lockout/",
                self.admin_site.admin_view(self.lift_lockout_view),
                name="subscriptions_member_lift_lockout",
            ),
            path(
                "<path:object_id>/adjust-points/",
                self.admin_site.admin_view(self.adjust_points_view),
                name="subscriptions_member_adjust_points",
            ),
            path(
                "<path:object_id>/notes/add/",
                self.admin_site.admin_view(self.add_note_view),
                name="subscriptions_member_add_note",
            ),
            *super().get_urls(),
        ]

    def adjust_points_view(self, request, object_id):
        if not request.user.has_perm("ssr_points.adjust_points"):
            raise PermissionDenied
        member = member_or_404(object_id)
        available = points_available(member=member)
        confirming = False
        cap = daily_points_added_cap(request.user)
        added_today = points_added_by_staff_today(staff_user=request.user)
        form = PointsAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            points, reason = form.cleaned_data["points"], form.cleaned_data["reason"]
            key = f"admin-adjust:{form.cleaned_data['idempotency_key']}"
            # The review refuses what the confirmation would refuse (the limit, the daily cap, more
            # points removed than the member has): no confirm button for an adjustment that cannot
            # be made. The service checks it all again at the confirmation.
            refusal = (
                points_adjust_by_staff_refusal(
                    member=member, points=points, staff_user=request.user, idempotency_key=key
                )
                if "confirm" not in request.POST
                else None
            )
            if isinstance(refusal, DailyAdditionCapReached):
                messages.error(request, _cap_refusal_message(request.user, refusal))
            elif refusal is not None:
                messages.error(request, str(refusal))
            elif "confirm" in request.POST:
                repeated = Entry.objects.filter(member=member, idempotency_key=key).exists()
                try:
                    entry = points_adjust_by_staff(
                        member=member, points=points, reason=reason, staff_user=request.user, idempotency_key=key
                    )
                except DailyAdditionCapReached as error:
                    messages.error(request, _cap_refusal_message(request.user, error))
                except PointsError as error:
                    messages.error(request, str(error))
                else:
                    if not repeated:
                        self.log_change(
                            request,
                            member,
                            _("Adjusted points %(points)s: %(reason)s")
                            % {"points": f"{entry.points:+,}", "reason": entry.reason},
                        )
                    messages.success(
                        request,
                        _("Points adjusted by %(points)s for %(member)s.")
                        % {"points": f"{entry.points:+,}", "member": member},
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
            "daily_cap": cap,
            "added_today": added_today,
        }
        return TemplateResponse(request, "admin/subscriptions/member/adjust_points.html", context)


def _staff_name(user) -> str:
    """A staff user as Japanese colleagues read one: family name first, then the login."""
    full = " ".join(part for part in (user.last_name.strip(), user.first_name.strip()) if part)
    return f"{full}（{user.get_username()}）" if full else user.get_username()


def _cap_refusal_message(user, refusal: DailyAdditionCapReached) -> str:
    """The cap's refusal and who can make the adjustment instead, by name (ssr_points/roles.py)."""
    approvers = daily_cap_approvers(user)
    if not approvers:
        return (
            f"{refusal} {_('Nobody can approve it at the moment: ask an administrator to give a supervisor the role.')}"
        )
    names = "、".join(_staff_name(approver) for approver in approvers)
    return f"{refusal} {_('Who can make it: %(names)s.') % {'names': names}}"


NUMBER_MATCHES_MAX = 20
EXCHANGE_NUMBER_PREFIX = "EX-"  # exchange.services.exchange_number_new
TIMELINE_PAGE_VAR = "timeline"


def exchange_members(word: str) -> list[int]:
    """The members an exchange number belongs to: as typed or in capitals (``ex-…`` finds
    ``EX-…``), with or without its prefix (``KQWRTZMP`` finds ``EX-KQWRTZMP``)."""
    numbers = {word, word.upper()}
    if not word.upper().startswith(EXCHANGE_NUMBER_PREFIX):
        numbers.add(EXCHANGE_NUMBER_PREFIX + word.upper())
    return list(Exchange.objects.filter(number__in=numbers).values_list("member_id", flat=True)[:NUMBER_MATCHES_MAX])


def order_members(word: str) -> list[int]:
    """The members a subscription order number belongs to."""
    numbers = {word, word.upper()}
    return list(
        SubscriptionOrder.objects.filter(number__in=numbers).values_list("member_id", flat=True)[:NUMBER_MATCHES_MAX]
    )


def member_or_404(object_id) -> Member:
    """The member of an admin URL, or 404 for an id that is not one (``abc``, ``1e99``, a NUL)."""
    try:
        pk = Member._meta.get_field("id").to_python(unquote(object_id))
    except ValidationError:
        raise Http404 from None
    return get_object_or_404(Member.objects.select_related("market", "user"), pk=pk)


def _adjustment_limit(user) -> int | None:
    return None if user.has_perm("ssr_points.adjust_points_unlimited") else settings.SSR_CX_ADJUSTMENT_LIMIT
