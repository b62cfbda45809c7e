"""Issue 22: the site says things one way — one brand on every page and email (「SSRリワード」),
one way to write a day and a moment (「2026年12月8日」, 「2026年12月8日 3:57」), 「か月」, and an
icon at /favicon.ico. The browser walks them too: tests/browser/test_dead_ends_22.py."""

import datetime as dt
import re
import uuid
import zoneinfo
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from backoffice.email_previews import PREVIEWS, preview_render
from exchange.models import Exchange, ExchangeRequest
from exchange.services import exchange_place, exchange_request_create
from ssr_points.services import points_adjust
from subscriptions.models import PaymentMethod
from subscriptions.services import subscription_save
from tests.factories import MemberFactory, StaffUserFactory

ROOT = Path(__file__).resolve().parent.parent
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
MOMENT = dt.datetime(2026, 12, 8, 3, 57, tzinfo=TOKYO)


@pytest.fixture
def member(catalogue):
    member = MemberFactory()
    subscription_save(member=member, items={catalogue["sunrise"]: 1, catalogue["menta"]: 1})
    points_adjust(member=member, points=500, reason="テスト用ポイント", staff_user=StaffUserFactory())
    return member


def brand_of(body: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", body, flags=re.S).group(1).strip()
    header = re.search(r'<a class="brand"[^>]*>(.*?)</a>', body).group(1)
    return title.rsplit(" | ", 1)[-1], header


def test_one_brand_on_member_pages_the_admin_and_every_email(client, member, admin_client):
    client.force_login(member.user)
    for url in (reverse("home"), reverse("exchange:catalogue"), reverse("exchange:list"), reverse("program")):
        assert brand_of(client.get(url).content.decode()) == ("SSRリワード", "SSRリワード")
    client.logout()
    assert brand_of(client.get(reverse("login")).content.decode()) == ("SSRリワード", "SSRリワード")
    admin = admin_client.get(reverse("admin:index")).content.decode()
    assert "SSRリワード 管理画面" in admin
    for slug in PREVIEWS:
        subject, text, html = preview_render(slug)
        assert subject.startswith("【SSRリワード】"), subject
        assert text.rstrip().endswith("SSRリワード"), slug  # the signature
        assert "<strong>SSRリワード</strong>" in html
        for other in ("SSR Rewards", "【SSRポイント】"):
            assert other not in subject + text + html, (slug, other)


def test_a_moment_reads_day_then_time_in_both_languages():
    template = Template('{% load tz %}{% timezone "Asia/Tokyo" %}{{ moment|date:"DATETIME_FORMAT" }}{% endtimezone %}')
    with translation.override("ja"):
        assert template.render(Context({"moment": MOMENT})) == "2026年12月8日 3:57"
    with translation.override("en"):
        assert template.render(Context({"moment": MOMENT})) == "Dec. 8, 2026, 3:57 a.m."


def test_the_exchange_page_the_emails_and_the_requests_to_customer_experience_write_moments_one_way(
    client, member, catalogue
):
    exchange = exchange_place(
        member=member, lines=[(catalogue["reward"], 1)], ship_now=False, idempotency_key=uuid.uuid4()
    )
    Exchange.objects.filter(pk=exchange.pk).update(created_at=MOMENT)
    client.force_login(member.user)
    detail = client.get(reverse("exchange:detail", args=[exchange.number])).content.decode()
    assert "2026年12月8日 3:57" in detail
    _subject, text, _html = preview_render("exchange-placed")
    assert re.search(r"受付日時: \d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}", text), text
    member.payment_method = PaymentMethod.BANK_TRANSFER
    member.save()
    exchange_request_create(member=member, message="トライアルパック")
    ExchangeRequest.objects.update(created_at=MOMENT)
    page = client.get(reverse("exchange:catalogue")).content.decode()
    assert "2026年12月8日 3:57" in page and "2026-12-08" not in page


def test_no_member_template_writes_a_date_its_own_way():
    """Days go through ``long_date`` / ``DATE_FORMAT``, moments through ``DATETIME_FORMAT``."""
    folders = ["templates", "exchange/templates", "jobs/templates", "subscriptions", "ssr_points"]
    own_ways = []
    for folder in folders:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".html", ".txt") and re.search(r'\|(date|time):"(?![A-Z_]+")', path.read_text()):
                own_ways.append(str(path.relative_to(ROOT)))
    assert own_ways == []


def test_months_are_written_ka_getsu_everywhere():
    """「か月」, never ヶ月 / ケ月 / カ月 / ヵ月, in any page, email, message or document."""
    suffixes = {".py", ".html", ".txt", ".po", ".md"}
    found = []
    for path in ROOT.rglob("*"):
        if path.suffix in suffixes and not {".venv", "node_modules", "test-artifacts"} & set(path.parts):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search("[ヶケカヵ]月", line) and path.name != "test_one_voice.py":
                    found.append(f"{path.relative_to(ROOT)}:{number}")
    assert found == []


def test_favicon_ico_is_the_sites_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"
    assert "max-age=86400" in response["Cache-Control"]
