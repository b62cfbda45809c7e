"""Queries per member page stay constant as a member's history grows (10 vs 5,000 entries)."""

import datetime as dt
import uuid

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from exchange.models import Exchange, ExchangeLine, ExchangeTaxLine
from ssr_points.checks import ledger_check
from ssr_points.models import Allocation, Entry, Lot, PointAccount
from ssr_points.services import lot_expires_at

# The most queries each page may make, whatever the length of the member's history, beside the
# session's one SELECT that every request makes (sessions live in the database, docs/security.md).
MAX_QUERIES = {
    # The user with member and market; the subscription with its items' PV; the spendable lots with
    # the debt; the box for the next shipment with its rewards; one page of history with its length
    # and its exchanges' products (exchange/home.py).
    "home": 5,
    "program": 2,
    "subscription": 6,
    # The user, the subscription's items, the box's rewards, the spendable lots; the products come
    # from the process's catalogue (subscriptions/catalogue.py).
    "exchange:catalogue": 4,
    "exchange:quantity": 4,
    "exchange:bundle": 4,
    "exchange:confirm": 4,
    "exchange:done": 3,
    "exchange:list": 4,
    "exchange:detail": 6,  # the exchange, its reward lines, its tax by rate and its box's changes (one query each)
}
SESSION_TABLE = Session._meta.db_table

# A member's login goes through this backend, which loads the member and market with the user.
MEMBER_LOGIN = "subscriptions.backends.MemberNumberOrEmailBackend"


def history_build(*, member, entries: int, reward) -> Exchange:
    """``entries`` ledger entries in bulk: half grants (one lot each), half 1-point exchanges.

    Every invariant holds (ledger_check), so the pages show a real, long history.
    """
    now = timezone.now()
    grants = entries // 2
    lots = Lot.objects.bulk_create(
        Lot(
            member=member,
            amount=10,
            remaining=10 - (1 if i < entries - grants else 0),
            granted_at=now - dt.timedelta(hours=i + 1),
            expires_at=lot_expires_at(granted_at=now - dt.timedelta(hours=i + 1), zone="Asia/Tokyo"),
        )
        for i in range(grants)
    )
    Entry.objects.bulk_create(
        Entry(member=member, kind="grant", points=10, reason="付与", lot=lot, created_at=lot.granted_at) for lot in lots
    )
    redemptions = Entry.objects.bulk_create(
        Entry(member=member, kind="redemption", points=-1, reason=f"交換 {i}", reference=f"EX-H{i:07d}")
        for i in range(entries - grants)
    )
    Allocation.objects.bulk_create(
        Allocation(member=member, entry=entry, lot=lot, points=1) for entry, lot in zip(redemptions, lots, strict=False)
    )
    exchanges = Exchange.objects.bulk_create(
        Exchange(
            member=member,
            number=entry.reference,
            idempotency_key=uuid.uuid4(),
            points=1,
            fee_units=1,
            exchange_fee_excl_tax=1400,
            handling_fee_excl_tax=0,
            subtotal_excl_tax=1400,
            tax=140,
            total=1540,
            charge_incl_tax=1540,
            redemption=entry,
        )
        for entry in redemptions
    )
    ExchangeLine.objects.bulk_create(
        ExchangeLine(member=member, exchange=exchange, product=reward, quantity=1, unit_points=1, tax_rate=8)
        for exchange in exchanges
    )
    ExchangeTaxLine.objects.bulk_create(
        ExchangeTaxLine(member=member, exchange=exchange, rate=10, amount_incl_tax=1540, tax=140)
        for exchange in exchanges
    )
    PointAccount.objects.filter(member=member).update(balance=10 * grants - (entries - grants))
    assert ledger_check(member_ids=[member.pk]) == []
    return exchanges[0]


@pytest.fixture(params=[10, 5000], ids=["10-entries", "5000-entries"])
def member_with_history(request, subscribed_member, catalogue):
    member = subscribed_member(points=0)
    exchange = history_build(member=member, entries=request.param, reward=catalogue["reward"])
    assert Entry.objects.filter(member=member).count() == request.param
    return member, exchange


@pytest.mark.parametrize("name", list(MAX_QUERIES))
def test_member_page_queries_do_not_grow_with_history(client, member_with_history, catalogue, name):
    member, exchange = member_with_history
    client.force_login(member.user, backend=MEMBER_LOGIN)  # what a member's own login records
    reward = catalogue["reward"]
    client.post(reverse("exchange:quantity", args=[reward.pk]), {"quantity": 1, "action": "save"})
    kwargs = {
        "exchange:quantity": {"product_id": reward.pk},
        "exchange:done": {"number": exchange.number},
        "exchange:detail": {"number": exchange.number},
    }.get(name, {})
    url = reverse(name, kwargs=kwargs)
    client.get(url)  # warm: sessions, content types, translations
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    session = [query["sql"] for query in queries if SESSION_TABLE in query["sql"]]
    page = [query["sql"] for query in queries if SESSION_TABLE not in query["sql"]]
    assert len(session) == 1 and session[0].startswith("SELECT"), session  # read once, not written
    assert len(page) <= MAX_QUERIES[name], "\n".join(page)
