"""Every email a member receives, rendered with sample data, for staff (or anyone with DEBUG
on): the exchange received and cancelled, the expiring-soon reminder, the password reset.

Each preview renders through the same function or templates as the real email, from sample
rows that are built in memory and never saved, so a preview changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from exchange.emails import exchange_email_render, exchange_request_closed_email_render
from exchange.models import Exchange, ExchangeLine, ExchangeRequest, ExchangeTaxLine
from exchange.quotes import cancel_last_day
from exchange.selectors import BundledShipment, PointsReturn
from jobs.services import reminder_render
from subscriptions.models import Market, Member, Product

PREVIEWS = {
    "exchange-placed": _("Exchange received (受付)"),
    "exchange-cancelled": _("Exchange cancelled"),
    "expiry-reminder": _("Points expiring soon"),
    "password-reset": _("Password reset"),
    "exchange-request-closed": _("Exchange request closed without an exchange"),
}


def staff_or_debug(view):
    """Staff only, unless DEBUG is on (a developer's machine)."""
    staff_view = staff_member_required(view)

    def wrapper(request, *args, **kwargs):
        if settings.DEBUG:
            return view(request, *args, **kwargs)
        return staff_view(request, *args, **kwargs)

    wrapper.__name__, wrapper.__doc__ = view.__name__, view.__doc__
    return wrapper


def _sample_member() -> Member:
    market = Market.objects.order_by("pk").first() or Market(code="JP", name="日本", cx_phone="03-4588-9520")
    user = get_user_model()(username="100001", email="demo@example.com")
    return Member(member_number="100001", name="山田 花子", market=market, user=user)


def _sample_exchange(*, cancelled: bool) -> dict:
    """The guide's worked example, as the emails' context (unsaved rows)."""
    member = _sample_member()
    now = timezone.now()
    exchange = Exchange(
        member=member,
        number="EX-SAMPLE42",
        status=Exchange.Status.CANCELLED if cancelled else Exchange.Status.PLACED,
        points=42,
        fee_units=1,
        exchange_fee_excl_tax=1400,
        handling_fee_excl_tax=0,
        subtotal_excl_tax=35567,
        tax=2873,
        total=38440,
        pv=Decimal("180"),
        charge_incl_tax=1540,
        created_at=now - dt.timedelta(days=1 if cancelled else 0),
        cancelled_at=now if cancelled else None,
    )
    product = Product(name_ja="トライアルパック", name_en="Trial pack", point_cost=42, tax_rate=8)
    shipment_date = timezone.localdate() + dt.timedelta(days=12)
    expires_at = timezone.now() + dt.timedelta(days=200)
    return {
        "exchange": exchange,
        "member": member,
        "market": member.market,
        "lines": [ExchangeLine(product=product, quantity=1, unit_points=42, tax_rate=8)],
        "tax_lines": [
            ExchangeTaxLine(rate=8, amount_incl_tax=36900, tax=2733),
            ExchangeTaxLine(rate=10, amount_incl_tax=1540, tax=140),
        ],
        "shipment": None
        if cancelled
        else BundledShipment(shipment_date=shipment_date, cancel_last_day=cancel_last_day(shipment_date)),
        "returns": [PointsReturn(lot_expires_at=expires_at, points=42, expired=False)] if cancelled else [],
        "detail_url": settings.SITE_URL.rstrip("/") + reverse("exchange:detail", args=[exchange.number]),
    }


def preview_render(slug: str) -> tuple[str, str, str]:
    """(subject, text, HTML) of the email ``slug`` with sample data."""
    if slug in ("exchange-placed", "exchange-cancelled"):
        kind = slug.removeprefix("exchange-")
        email = exchange_email_render(kind=kind, context=_sample_exchange(cancelled=kind == "cancelled"))
        return email.subject, email.text, email.html
    if slug == "expiry-reminder":
        expires_at = (timezone.localtime() + dt.timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
        return reminder_render(member=_sample_member(), expires_at=expires_at, points=25, available=458)
    if slug == "exchange-request-closed":
        member = _sample_member()
        exchange_request = ExchangeRequest(
            member=member,
            message="トライアルパックに交換したいです。",
            close_reason="お電話で確認したところ、次回の定期購入に追加をご希望でしたので、ご依頼を完了としました。",
            created_at=timezone.now() - dt.timedelta(days=1),
        )
        email = exchange_request_closed_email_render(exchange_request=exchange_request)
        return email.subject, email.text, email.html
    if slug == "password-reset":
        member = _sample_member()
        user = member.user
        user.member = member
        context = {
            "user": user,
            "email": user.email,
            "uid": "MQ",
            "token": "sample-token",
            "protocol": "https",
            "domain": "rewards.example",
            "market": member.market,
        }
        with translation.override(settings.LANGUAGE_CODE):
            subject = " ".join(render_to_string("registration/password_reset_subject.txt", context).split())
            text = render_to_string("registration/password_reset_email.txt", context)
            html = render_to_string("registration/password_reset_email.html", context | {"subject": subject})
        return subject, text, html
    raise Http404("no such email")


@staff_or_debug
def preview_index(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/email_previews.html", {"previews": PREVIEWS.items()})


@staff_or_debug
def preview_detail(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in PREVIEWS:
        raise Http404("no such email")
    subject, text, _html = preview_render(slug)
    context = {"slug": slug, "title": PREVIEWS[slug], "subject": subject, "text": text}
    return render(request, "backoffice/email_preview.html", context)


@staff_or_debug
def preview_html(request: HttpRequest, slug: str) -> HttpResponse:
    """The HTML part alone, as a mail client shows it."""
    if slug not in PREVIEWS:
        raise Http404("no such email")
    return HttpResponse(preview_render(slug)[2])
