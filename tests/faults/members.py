"""Members walking the exchange wizard over real HTTP, for the fault tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import requests
from django.test import Client

from bench.load.wizard import CSRF, FINGERPRINT, KEY, PRODUCT
from bench.load.wizard import field as form_field
from exchange.models import Exchange
from ssr_points.models import Entry, PointAccount
from ssr_points.services import points_adjust
from subscriptions.services import subscription_save
from tests.factories import MemberFactory, StaffUserFactory

MEMBER_LOGIN = "subscriptions.backends.MemberNumberOrEmailBackend"
TIMEOUT = 30  # seconds one request may take before the test fails


def subscribed_member(catalogue, *, points: int = 5000, **kwargs):
    member = MemberFactory(**kwargs)
    subscription_save(member=member, items={catalogue["sunrise"]: 1, catalogue["menta"]: 1})
    points_adjust(member=member, points=points, reason="テスト用ポイント", staff_user=StaffUserFactory())
    return member


def signed_in(base: str, member) -> requests.Session:
    """A browser session of the member, signed in by the test process (same secret key and
    session store as the app: the session is in PostgreSQL, with its copy in Redis)."""
    client = Client()
    client.force_login(member.user, backend=MEMBER_LOGIN)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value, domain="127.0.0.1", path="/")
    return session


@dataclass
class Walk:
    """Every answer a member got, in order, and the exchanges they placed."""

    statuses: list[tuple[str, int]] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)

    def record(self, label: str, response: requests.Response) -> requests.Response:
        self.statuses.append((label, response.status_code))
        return response


def exchange_walk(base: str, session: requests.Session, walk: Walk) -> None:
    """catalogue → product → quantity 「セーブ」 → confirmation → agree: one exchange, or as far
    as the answers allow (a 503 ends the walk; the member would tap again)."""
    page = walk.record("catalogue", session.get(f"{base}/exchange/", timeout=TIMEOUT))
    products = PRODUCT.findall(page.text)
    if page.status_code != 200 or not products:
        return
    path = f"{base}/exchange/products/{products[0]}/"
    page = walk.record("quantity", session.get(path, timeout=TIMEOUT))
    if page.status_code != 200:
        return
    data = {"quantity": "1", "action": "save", "csrfmiddlewaretoken": form_field(CSRF, page.text)}
    saved = walk.record("save", session.post(path, data=data, allow_redirects=False, timeout=TIMEOUT))
    if saved.status_code != 302:
        return
    page = walk.record("confirm", session.get(f"{base}/exchange/confirm/", timeout=TIMEOUT))
    if page.status_code != 200:
        return
    data = {
        "idempotency_key": form_field(KEY, page.text) or str(uuid.uuid4()),
        "fingerprint": form_field(FINGERPRINT, page.text),
        "agree": "on",
        "csrfmiddlewaretoken": form_field(CSRF, page.text),
    }
    placed = walk.record(
        "place", session.post(f"{base}/exchange/confirm/", data=data, allow_redirects=False, timeout=TIMEOUT)
    )
    if placed.status_code == 302 and "/exchange/done/" in placed.headers.get("Location", ""):
        walk.placed.append(placed.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def home_is_signed_in(base: str, session: requests.Session, member) -> bool:
    page = session.get(f"{base}/", allow_redirects=False, timeout=TIMEOUT)
    return page.status_code == 200 and member.member_number in page.text


def ledger_matches_the_exchanges(member, *, points_at_start: int) -> None:
    """No partial write: every placed exchange has its lines and its redemption, and the
    member's balance is what they started with less what the exchanges took."""
    exchanges = list(Exchange.objects.filter(member=member))
    for exchange in exchanges:
        assert exchange.lines.exists(), exchange.number
        redemption = Entry.objects.get(member=member, kind=Entry.Kind.REDEMPTION, reference=exchange.number)
        assert redemption.points == -exchange.points
    assert Entry.objects.filter(member=member, kind=Entry.Kind.REDEMPTION).count() == len(exchanges)
    spent = sum(exchange.points for exchange in exchanges)
    assert PointAccount.objects.get(member=member).balance == points_at_start - spent
