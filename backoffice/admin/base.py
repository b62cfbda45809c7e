"""What every back-office model admin shares: read-only rows, the lists of large tables, the
intermediate page of an action that needs a reason."""

from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import connections, models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from backoffice.forms import StaffReasonForm
from backoffice.templatetags.backoffice_format import instant
from subscriptions.templatetags.ssr_format import valid_until_text, yen


def whole_number(value) -> str:
    """A count, points or PV as people read it: ``12,345``; nothing for none."""
    return "" if value is None else f"{value:,}"


def _is_number_field(model, name) -> bool:
    """A column of counts, points or PV (not a key, not a code with choices)."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return (
        isinstance(field, (models.IntegerField, models.DecimalField))
        and not field.primary_key
        and not field.is_relation
        and not field.choices
    )


def number_display(model, field: str):
    """A read-only column or field showing the number ``field`` with thousands separators, under
    the field's own label, sortable by it (Django writes ``12345``)."""

    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def show(obj):
        return whole_number(getattr(obj, field))

    show.__name__ = f"{field}_grouped"
    return show


class NumbersAdminMixin:
    """Numbers with thousands separators (docs/admin.md, "Japanese and yen everywhere"): each
    number column of a list, and each number field a page shows read-only, is shown by
    ``number_display`` (``<field>_grouped``) instead of Django's plain ``12345``. Editable fields
    stay inputs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.number_fields = [f.name for f in self.model._meta.get_fields() if _is_number_field(self.model, f.name)]
        for name in self.number_fields:
            setattr(self, f"{name}_grouped", number_display(self.model, name))

    def _grouped(self, names):
        shown = [f"{name}_grouped" if name in self.number_fields else name for name in names]
        return list(dict.fromkeys(shown))

    def _read_only(self, request, obj) -> bool:
        return not self.has_change_permission(request, obj)

    def get_list_display(self, request):
        return self._grouped(super().get_list_display(request))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._read_only(request, obj):
            return fieldsets
        return [(name, {**options, "fields": self._grouped(options["fields"])}) for name, options in fieldsets]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if self._read_only(request, obj):
            fields += [f"{name}_grouped" for name in self.number_fields]
        return fields


class ReadOnlyAdminMixin:
    """Shown in admin, never added, changed or deleted there: services write these rows.

    For model admins and inlines alike (``obj`` is optional in both signatures).
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered list of a large table from PostgreSQL's statistics, not COUNT(*).

    ``COUNT(*)`` reads the whole table: about a second for ten million members, more for the
    ledger, on every opening of the list. The planner's row estimate (``pg_class.reltuples``,
    kept by autovacuum) is close enough to size the pages. A search or a filter, and any table
    smaller than ``estimate_above`` or not analysed yet, is counted exactly.
    """

    estimate_above = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                    [connection.ops.quote_name(queryset.model._meta.db_table)],
                )
                row = cursor.fetchone()
            if row is not None and row[0] >= self.estimate_above:
                return row[0]
        return super().count


class LargeTableAdminMixin:
    """For the lists of tables that grow with the members (members, orders, ledger, exchanges):
    no second count of the whole table next to a search's, and an estimated total."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator


def member_link(member) -> str:
    """The member as a link to their page (the member page answers most questions)."""
    return format_html('<a href="{}">{}</a>', reverse("admin:subscriptions_member_change", args=[member.pk]), member)


def order_link(order) -> str:
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:subscriptions_subscriptionorder_change", args=[order.pk]), order.number
    )


class ReadOnlyInline(NumbersAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


def reason_action_page(modeladmin, request, *, objects, action, title, explanation, button, reason_label):
    """The intermediate page of an action that needs a reason (Django's delete_selected pattern);
    ``reason_label`` says who reads the reason. ``action`` None: a page of its own (one object's
    button), not a change list's action. Returns the reason once one is given, else the page."""
    form = StaffReasonForm(request.POST if "apply" in request.POST else None, reason_label=reason_label)
    if "apply" in request.POST:
        if form.is_valid():
            return form.cleaned_data["reason"]
        messages.error(request, _("A reason is required."))
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "explanation": explanation,
        "button": button,
        "opts": modeladmin.opts,
        "objects": objects,
        "action": action,
        "form": form,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/staff_reason_action.html", context)


def yen_field(model, field: str):
    """A read-only column or field showing ``field`` (an integer in yen) as ``¥36,900``, under the
    field's own label; for the admin's lists and detail pages."""

    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def show(self, obj):
        return yen(getattr(obj, field))

    show.__name__ = f"{field}_yen"
    return show


def expiry_fields(market_of, field: str = "expires_at"):
    """The expiry of a row in the one convention (docs/admin.md, "Japanese and yen everywhere"):

    - ``valid_until``: the last day the points can be used, 「2026年12月14日まで有効」, for lists
      and detail pages alike, sortable by the expiry;
    - ``expiry_instant``: the exact instant (``2026-12-15 00:00 JST``), labelled as the instant of
      expiry, for detail pages only.

    ``market_of(obj)`` gives the row's market, whose time zone the day is read in.
    """

    @admin.display(description=_lazy("Valid until"), ordering=field)
    def valid_until(self, obj):
        return valid_until_text(getattr(obj, field), market_of(obj).zone)

    @admin.display(description=_lazy("Instant of expiry (unusable from then)"))
    def expiry_instant(self, obj):
        return instant(getattr(obj, field), market_of(obj).time_zone)

    return valid_until, expiry_instant
