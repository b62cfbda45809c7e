"""The member's emails about an exchange: received (受付), its box changed, and cancelled, Japanese, plain text and
HTML. Sent by ``exchange.tasks.exchange_email_task`` once the transaction that placed or
cancelled the exchange has committed (``exchange.services``); the back office previews them
with sample data (``backoffice.email_previews``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from exchange.models import Exchange, ExchangeRequest
from exchange.selectors import exchange_bundled_shipment, exchange_points_return

KINDS = ("placed", "changed", "cancelled")
TEMPLATES = {"placed": "placed", "changed": "placed", "cancelled": "cancelled"}  # a change shows the box as placed


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def exchange_email_render(*, kind: str, context: dict) -> RenderedEmail:
    """Subject, text and HTML of the ``kind`` email, in the market's language (Japanese)."""
    if kind not in KINDS:
        raise ValueError(f"unknown exchange email {kind!r}")
    return _email_render(TEMPLATES[kind], context)


def _email_render(name: str, context: dict) -> RenderedEmail:
    """``exchange/email/{name}``'s subject (one line), text and HTML, in the market's language."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"exchange/email/{name}_subject.txt", context).split())
        text = render_to_string(f"exchange/email/{name}.txt", context)
        html = render_to_string(f"exchange/email/{name}.html", context | {"subject": subject})
    return RenderedEmail(subject=subject, text=text, html=html)


def exchange_email_context(*, exchange: Exchange) -> dict:
    """What the emails show, read from the exchange (its recorded figures, never a new quote): the
    box as it stands after its latest change (``change``)."""
    member = exchange.member
    return {
        "exchange": exchange,
        "change": exchange.changes.order_by("-revision").first(),
        "member": member,
        "market": member.market,
        "lines": list(exchange.lines.select_related("product").order_by("product__sku")),
        "tax_lines": list(exchange.tax_lines.filter(member_id=exchange.member_id).order_by("rate")),
        "shipment": exchange_bundled_shipment(exchange=exchange),
        "returns": exchange_points_return(exchange=exchange) if exchange.status == Exchange.Status.CANCELLED else [],
        "detail_url": settings.SITE_URL.rstrip("/") + reverse("exchange:detail", args=[exchange.number]),
    }


def exchange_email_send(*, exchange_id: int, kind: str) -> bool:
    """Email the member about the exchange; False when there is no address to send to."""
    exchange = Exchange.objects.select_related("member__user", "member__market", "order").get(pk=exchange_id)
    address = exchange.member.user.email
    if not address:
        return False
    _email_send(exchange_email_render(kind=kind, context=exchange_email_context(exchange=exchange)), address)
    return True


def exchange_request_closed_email_render(*, exchange_request: ExchangeRequest) -> RenderedEmail:
    """The email that tells a member Customer Experience closed their request without an exchange."""
    member = exchange_request.member
    context = {
        "exchange_request": exchange_request,
        "member": member,
        "market": member.market,
        "exchange_url": settings.SITE_URL.rstrip("/") + reverse("exchange:catalogue"),
    }
    return _email_render("request_closed", context)


def exchange_request_closed_email_send(*, request_id: int) -> bool:
    """Email the member the reason their request was closed; False when there is no address."""
    exchange_request = ExchangeRequest.objects.select_related("member__user", "member__market").get(pk=request_id)
    member = exchange_request.member
    if not member.user.email:
        return False
    _email_send(exchange_request_closed_email_render(exchange_request=exchange_request), member.user.email)
    return True


def _email_send(email: RenderedEmail, address: str) -> None:
    message = EmailMultiAlternatives(email.subject, email.text, to=[address])
    message.attach_alternative(email.html, "text/html")
    message.send()
