"""Every admin page reads in Japanese (issue 12): the test walks the whole back office as a
superuser — index, every list (with a search and a filter), every change and add page, the
member page and its actions, the report, the ledger check, the 403 page — and fails on any
English word left in what a person reads (text, button values, placeholders, titles).

Allowed, and why:
- brand and unit names that are written in Latin letters in Japanese too: SSR (the program's
  name), PV (the guide's 合計PV), CSV, SKU, ID, JPY/JP (currency and market codes), Axes (the
  login-protection library's name), LDAP, and the keys Control / Command on a Mac (Django's
  Japanese keeps them);
- Django's yes/no icons, whose alt text Django hard-codes in English ("True"/"False"): the icon
  itself is what a person reads;
- the roles' names (cx_agent, ops, …): codes defined in ssr_points/roles.py;
- django-axes' names of its log rows ("Access Log for … @ …"), which it writes in English
  without gettext;
- codes and data: exchange and order numbers (EX-…, SO-…), SKUs (SUB-…, RW-…), usernames,
  email addresses, the time zone name (Asia/Tokyo) and the exact instant's zone (JST);
- the data of this test itself, which is Japanese except the English product names a market
  keeps beside the Japanese ones (name_en, shown as it is typed).
"""

import re
import uuid
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import reverse

from backoffice.models import ContactNote
from exchange.services import exchange_place, exchange_request_create
from fulfilment.models import PendingGrant
from jobs.models import JobRun
from ssr_points.services import points_adjust
from subscriptions.services import subscription_save
from tests.factories import MarketFactory, MemberFactory, OrderFactory, ProductFactory

ALLOWED = re.compile(
    r"""
      (?<![A-Za-z])(?:SSR|PV|CSV|SKU|ID|JPY|JP|JST|JPEG|PNG|WebP|MB)(?![A-Za-z])  # abbreviations, file formats
    | (?<![A-Za-z])(?:EX|SO|SUB|RW)-[A-Za-z0-9-]+   # exchange, order and product codes
    | [\w.+-]+@[\w.-]+                               # email addresses
    | (?<![A-Za-z])user\d+                           # usernames of the test's staff
    | <unknown> | (?<![A-Za-z])(?:IP|HTTP)(?![A-Za-z])  # axes' placeholder for a missing header; IPアドレス
    | Asia/Tokyo
    | (?<![A-Za-z])(?:cx_agent|cx_supervisor|ops|finance)(?![A-Za-z])  # the roles' names: code (roles.py)
    | (?<![A-Za-z])(?:Control|Command|Mac|LDAP|Axes)(?![A-Za-z])  # key and protocol names; django-axes
    | (?:[a-z-]+:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}  # a request key (exchange:UUID)
    | Failed\ access:\ user\ .*?\ from\ \S+ | Attempted\ Access:\ \S+ | Access\ Log\ for\ .*?\ @\ \S+  # axes' names
    """,
    re.X,
)
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}


class ReadableText(HTMLParser):
    """The text a person reads on the page: element text (not script or style), the values of
    buttons, placeholders, titles, labels for assistive technology."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "svg"):
            self.skipping += 1
        if tag == "img" and re.search(r"icon-(yes|no|unknown)\.svg$", attrs.get("src") or ""):
            return  # Django writes its yes/no icons' alt as "True"/"False", untranslatable; the icon says it
        for name in READ_ATTRIBUTES & attrs.keys():
            self.parts.append(attrs[name] or "")
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset"):
            self.parts.append(attrs.get("value") or "")
        if tag == "option":
            pass  # the option's text comes as data

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def english_left(html: str, data_words: set[str]) -> list[str]:
    parser = ReadableText()
    parser.feed(html)
    text = ALLOWED.sub(" ", " ".join(parser.parts))
    return sorted({word for word in ENGLISH_WORD.findall(text) if word not in data_words})


def test_the_checker_finds_english_and_lets_codes_through():
    html = '<p>Filter by 開始日時</p><input type="submit" value="Save"><p>EX-AB12CD34 SO-000001 PV 180</p>'
    assert english_left(html, set()) == ["Filter", "Save", "by"]


@pytest.fixture
def japan(db):
    return MarketFactory(name="日本")  # before the catalogue makes the market with its English name


@pytest.fixture
def every_kind_of_row(japan, make_staff, catalogue):
    """One of everything the admin lists, in Japanese."""
    agent = make_staff("cx_agent")
    member = MemberFactory(name="山田 花子", name_kana="ヤマダ ハナコ")
    subscription_save(member=member, items={catalogue["sunrise"]: 1, catalogue["menta"]: 1})
    points_adjust(member=member, points=500, reason="お詫び", staff_user=agent)
    exchange = exchange_place(
        member=member, lines=[(catalogue["reward"], 1)], ship_now=True, idempotency_key=uuid.uuid4(), staff_user=agent
    )
    exchange_request_create(member=member, message="交換したい")
    ContactNote.objects.create(member=member, staff_user=agent, text="電話あり")
    JobRun.objects.create(kind=JobRun.Kind.EXPIRY, cutoff=exchange.created_at, started_at=exchange.created_at)
    order = OrderFactory(subscription=member.subscriptions.get())
    PendingGrant.objects.create(member=member, order=order, created_at=order.shipped_at)  # the grants' outbox
    ProductFactory(reward=True, point_cost=10)
    return member


def data_words() -> set[str]:
    """English typed as data (a product's English name), not a label."""
    from subscriptions.models import Product

    return {word for name in Product.objects.values_list("name_en", flat=True) for word in ENGLISH_WORD.findall(name)}


def admin_urls(member) -> list[str]:
    urls = [reverse("admin:index"), reverse("admin:points_report"), reverse("admin:ledger_check")]
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        urls += [changelist, changelist + "?q=1"]
        for list_filter in model_admin.list_filter:
            if isinstance(list_filter, str):
                urls.append(changelist + f"?{list_filter}__exact=x")
        obj = model._default_manager.first()
        if obj is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk]))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        urls.append(reverse("admin:app_list", args=[opts.app_label]))
    urls += [
        reverse("admin:subscriptions_member_adjust_points", args=[member.pk]),
        reverse("admin:exchange_exchange_place_for_member", args=[member.pk]),
        # Issue 23: the exchange's own cancel page, each job's 「今すぐ実行」 confirmation, the report
        # over a range.
        reverse("admin:exchange_exchange_cancel", args=[member.exchanges.get().pk]),
        *(
            reverse("admin:jobs_jobrun_run_now", args=[kind])
            for kind in ["expiry", "subscriptions", "grants", "reminders"]
        ),
        reverse("admin:points_report") + "?market=JP&start=2025-01-01&end=2026-12-31",
    ]
    return urls


def test_every_admin_page_reads_in_japanese(client, make_staff, every_kind_of_row):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    superuser = make_staff(superuser=True)
    get_user_model().objects.update(password=make_password(None))  # a hash's summary is data, not labels
    superuser.refresh_from_db()
    client.force_login(superuser)
    allowed_data = data_words()
    found = {}
    read = 0
    for url in admin_urls(every_kind_of_row):
        response = client.get(url, follow=True)  # an unknown filter value redirects to ?e=1
        if response.status_code == 403:
            continue  # no add page for read-only tables (the 403 page is read below)
        assert response.status_code == 200, url
        assert response.redirect_chain == [] or "e=1" in response.redirect_chain[-1][0], (url, response.redirect_chain)
        read += 1
        if words := english_left(response.content.decode(), allowed_data):
            found[url] = words
    # The pages behind a form: the adjustment's review, the exchange's confirmation, a reason page.
    member = every_kind_of_row
    review = client.post(
        reverse("admin:subscriptions_member_adjust_points", args=[member.pk]),
        {"points": 10, "reason": "お詫び", "idempotency_key": str(uuid.uuid4()), "preview": "1"},
    )
    reason_page = client.post(
        reverse("admin:exchange_exchange_changelist"),
        {"action": "cancel_selected", "_selected_action": [member.exchanges.get().pk]},
    )
    close_page = client.post(  # closing a request without an exchange asks for the member's reason
        reverse("admin:exchange_exchangerequest_changelist"),
        {"action": "close_without_exchange", "_selected_action": [member.exchange_requests.get().pk]},
    )
    locked_member_page = locked_out(client, member)
    from subscriptions.models import Product

    reward = Product.objects.filter(point_cost__isnull=False).first()
    quote_page = client.post(
        reverse("admin:exchange_exchange_place_for_member", args=[member.pk]),
        {f"quantity_{reward.pk}": "1", "idempotency_key": str(uuid.uuid4()), "review": "1"},
    )
    assert quote_page.context["quote"] is not None
    for name, response in [
        ("adjust review", review),
        ("reason page", reason_page),
        ("quote", quote_page),
        ("close request page", close_page),
        ("member locked out", locked_member_page),
    ]:
        if words := english_left(response.content.decode(), allowed_data):
            found[name] = words
    assert read > 50
    assert found == {}


def locked_out(client, member):
    """The member page of a member locked out of their login, with the lift button (superuser)."""
    from django.conf import settings
    from django.test import Client

    member.user.set_password("pass-word-123")
    member.user.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(reverse("login"), {"username": member.member_number, "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    page = client.get(reverse("admin:subscriptions_member_change", args=[member.pk]))
    assert 'id="lift-lockout"' in page.content.decode()
    return page


def test_a_refused_page_is_the_admins_layout_in_japanese(client, make_staff, every_kind_of_row):
    client.force_login(make_staff("finance"))
    response = client.get(reverse("admin:subscriptions_member_changelist"))
    body = response.content.decode()
    assert response.status_code == 403
    assert 'id="site-name"' in body and 'class="breadcrumbs"' in body  # the admin's header and breadcrumbs
    assert "この操作の権限がありません" in body
    assert english_left(body, set()) == []
    # Outside the back office Django's own 403 stays (the member site has its own pages).
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_custom_pages_keep_the_admins_breadcrumbs(client, make_staff, every_kind_of_row):
    client.force_login(make_staff(superuser=True))
    member = every_kind_of_row
    pages = [
        client.get(reverse("admin:points_report")),
        client.get(reverse("admin:ledger_check")),
        client.get(reverse("admin:subscriptions_member_adjust_points", args=[member.pk])),
        client.get(reverse("admin:exchange_exchange_place_for_member", args=[member.pk])),
        client.post(
            reverse("admin:exchange_exchange_changelist"),
            {"action": "cancel_selected", "_selected_action": [member.exchanges.get().pk]},
        ),
        client.get(reverse("admin:exchange_exchange_cancel", args=[member.exchanges.get().pk])),
        client.get(reverse("admin:jobs_jobrun_run_now", args=["expiry"])),
    ]
    for response in pages:
        body = response.content.decode()
        assert response.status_code == 200
        assert '<ol class="breadcrumbs">' in body and 'aria-current="page"' in body, response.request["PATH_INFO"]
