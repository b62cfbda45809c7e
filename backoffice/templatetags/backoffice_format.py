"""How the back office writes dates and amounts for people (Japanese conventions, docs/admin.md).

Expiry dates follow the member pages' one convention (``subscriptions.templatetags.ssr_format``:
``valid_until`` / ``last_valid_day``): the last day the points can be used, a lot that expires at
2026-12-15 00:00 JST is 「2026年12月14日まで有効」. Lists, the member page, the report and the CSVs
show that; only the admin's detail pages add the exact instant (``instant``), labelled as the
instant of expiry.
"""

from __future__ import annotations

import zoneinfo

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def instant(value, zone: str | None = None) -> str:
    """The exact instant, for the admin's detail: ``2026-12-15 00:00 JST``."""
    if not value:
        return ""
    local = timezone.localtime(value, zoneinfo.ZoneInfo(zone) if zone else None)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


@register.filter
def pt(amount) -> str:
    """Points with separators and the unit: ``1,234 ポイント``; a ledger entry signed: ``−42``."""
    if amount is None or amount == "":
        return ""
    return _("%(points)s points") % {"points": f"{int(amount):,}"}
