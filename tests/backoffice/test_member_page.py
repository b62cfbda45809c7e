"""The CX member page (issue 12): the summary that answers a call, one timeline with the running
balance, product names, linked references and the staff user, read in a fixed number of queries
whatever the member's history; contact notes that CX add and nobody changes."""

import datetime as dt
import re
import uuid
import zoneinfo

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.models import ContactNote
from exchange.exceptions import BoxClosed
from exchange.services import box_open_check, exchange_place, exchange_request_create
from ssr_points.models import Entry, Lot, PointAccount
from ssr_points.services import lot_expires_at, points_adjust
from subscriptions.services import subscription_save
from subscriptions.templatetags.ssr_format import valid_until
from tests.factories import MemberFactory, StaffUserFactory


def member_page(client, member, **params):
    return client.get(reverse("admin:subscriptions_member_change", args=[member.pk]), params)


def bulk_history(member, count, staff_user):
    """``count`` one-point adjustments, each with its lot, written in two statements: a long
    history in seconds. The ledger stays consistent (balance = entries = lots)."""
    now = timezone.now()
    lots = Lot.objects.bulk_create(
        [
            Lot(
                member=member,
                amount=1,
                remaining=1,
                granted_at=now - dt.timedelta(minutes=count - i),
                expires_at=lot_expires_at(granted_at=now - dt.timedelta(minutes=count - i), zone="Asia/Tokyo"),
            )
            for i in range(count)
        ]
    )
    Entry.objects.bulk_create(
        [
            Entry(
                member=member,
                kind=Entry.Kind.ADJUSTMENT,
                points=1,
                created_at=lot.granted_at,
                reason="一括補填",
                lot=lot,
                staff_user=staff_user,
            )
            for lot in lots
        ]
    )
    PointAccount.objects.filter(member=member).update(balance=F("balance") + count)


def queries_of(client, member, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = member_page(client, member, **params)
    assert response.status_code == 200
    return len(queries)


def test_the_member_page_reads_the_same_queries_at_10_and_at_5000_entries(
    client, make_staff, catalogue, assert_ledger_ok
):
    agent = make_staff("cx_agent")
    client.force_login(agent)
    member = MemberFactory()
    subscription_save(member=member, items={catalogue["sunrise"]: 1})
    bulk_history(member, 8, agent)
    points_adjust(member=member, points=50, reason="お詫び", staff_user=agent)
    exchange_place(member=member, lines=[(catalogue["reward"], 1)], ship_now=False, idempotency_key=uuid.uuid4())
    exchange_request_create(member=member, message="電話ください")
    ContactNote.objects.create(member=member, staff_user=agent, text="問い合わせ")
    assert Entry.objects.filter(member=member).count() == 10
    member_page(client, member)  # warm: content types, permissions, sessions
    at_10 = queries_of(client, member)
    last_page_10 = queries_of(client, member, timeline=99)

    bulk_history(member, 4990, agent)
    assert Entry.objects.filter(member=member).count() == 5000
    at_5000 = queries_of(client, member)
    assert at_5000 == at_10, (at_10, at_5000)
    assert queries_of(client, member, timeline=250) == last_page_10  # a page deep in the history
    assert at_10 <= 25
    response = member_page(client, member, timeline=2)
    # entries (the exchange is its redemption entry's row), the request, the note
    assert response.context["timeline"].paginator.count == 5000 + 1 + 1
    assert_ledger_ok()


def test_the_timeline_shows_running_balance_products_references_and_staff_newest_first(
    client, make_staff, catalogue, grant_points, assert_ledger_ok
):
    agent = make_staff("cx_agent")
    client.force_login(agent)
    member = MemberFactory(name="山田 花子")
    subscription_save(member=member, items={catalogue["sunrise"]: 1, catalogue["menta"]: 1})
    grant = grant_points(member, 120)  # order shipped yesterday
    points_adjust(member=member, points=50, reason="配送遅延のお詫び", staff_user=agent)
    exchange = exchange_place(
        member=member, lines=[(catalogue["reward"], 1)], ship_now=False, idempotency_key=uuid.uuid4(), staff_user=agent
    )
    ContactNote.objects.create(member=member, staff_user=agent, text="ポイントが減った理由を説明した")

    response = member_page(client, member)
    items = list(response.context["timeline"])
    kinds = [item.kind for item in items]
    assert kinds[0] == "note"
    ledger = [item for item in items if item.entry is not None]  # every row that moved points
    assert [(e.kind, e.points, e.balance_after) for e in ledger] == [
        ("exchange", -42, 128),
        ("entry", 50, 170),
        ("entry", 120, 120),
    ]
    # The exchange is one row (issue 23): its redemption folded in, not a second row beside it.
    assert kinds.count("exchange") == 1
    redemption = ledger[0]
    assert redemption.reference == exchange.number
    assert redemption.reference_url == reverse("admin:exchange_exchange_change", args=[exchange.pk])
    assert redemption.products == ["トライアルパック × 1"] or redemption.products[0].endswith("× 1")
    assert redemption.staff_user == agent and redemption.yen == exchange.total
    assert ledger[1].staff_user == agent and ledger[1].detail == "配送遅延のお詫び"
    assert ledger[2].reference == grant.order.number
    assert ledger[2].reference_url == reverse("admin:subscriptions_subscriptionorder_change", args=[grant.order_id])
    assert {"exchange", "order_created", "order_shipped"} <= set(kinds)
    body = response.content.decode()
    assert exchange.number in body and grant.order.number in body
    assert "−42" in body and "128" in body and "170" in body
    assert "¥" in body  # the exchange's and the order's totals in yen
    assert_ledger_ok()


def test_the_summary_shows_points_next_expiry_as_the_last_valid_day_subscription_and_requests(
    client, make_staff, catalogue, grant_points
):
    client.force_login(make_staff("cx_agent"))
    member = MemberFactory()
    subscription_save(member=member, items={catalogue["sunrise"]: 1})
    old = grant_points(member, 30, at=timezone.now() - dt.timedelta(days=300))  # expires within 90 days
    grant_points(member, 70)
    exchange_request_create(member=member, message="トライアルパックを交換したい")
    response = member_page(client, member)
    summary = response.context["summary"]
    assert (summary.available, summary.expiring_soon_points, summary.next_expiry) == (100, 30, old.expires_at)
    assert summary.open_request_count == 1 and summary.subscription is not None
    last_day = (timezone.localtime(old.expires_at, zoneinfo.ZoneInfo("Asia/Tokyo")) - dt.timedelta(days=1)).date()
    body = response.content.decode()
    assert f"{last_day.year}年{last_day.month}月{last_day.day}日まで有効" in body
    assert "トライアルパックを交換したい" in body


def test_the_bundle_cut_off_cx_read_is_the_members_last_day_to_change_the_box(client, make_staff, catalogue):
    """The box can be placed, changed or cancelled until the day before its shipment, in the
    market's time zone (exchange.services.box_open_check); CX tell the member that same day."""
    client.force_login(make_staff("cx_agent"))
    member = MemberFactory()
    subscription = subscription_save(member=member, items={catalogue["sunrise"]: 1})
    shipment = subscription.next_shipment_date
    last_day = shipment - dt.timedelta(days=1)
    text = re.sub(r"<[^>]+>", "", member_page(client, member).content.decode())
    assert f"{last_day.year}年{last_day.month}月{last_day.day}日までの交換はこの定期便に同梱" in text
    zone = member.market.zone
    box_open_check(shipment_date=shipment, zone=zone, now=dt.datetime.combine(last_day, dt.time(23, 59), zone))
    with pytest.raises(BoxClosed):
        box_open_check(shipment_date=shipment, zone=zone, now=dt.datetime.combine(shipment, dt.time(0, 0), zone))


def test_an_expiry_is_shown_as_the_last_valid_day():
    expires_at = dt.datetime(2026, 12, 15, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    from django.utils import translation

    with translation.override("ja"):
        assert valid_until(expires_at) == "2026年12月14日まで有効"
        assert valid_until(expires_at + dt.timedelta(minutes=1)) == "2026年12月15日まで有効"


def test_the_member_page_shows_debt(client, make_staff, grant_points):
    from fulfilment.services import order_mark_returned
    from ssr_points.services import points_redeem

    client.force_login(make_staff("cx_agent"))
    member = MemberFactory()
    lot = grant_points(member, 20)
    points_redeem(member=member, points=20, reference="EX-1", reason="交換")
    order_mark_returned(order=lot.order, reason="返品")
    response = member_page(client, member)
    assert response.context["summary"].debt == 20
    assert 'id="cx-debt"' in response.content.decode()


# -- contact notes -------------------------------------------------------------------------------


def add_note(client, member, text):
    return client.post(reverse("admin:subscriptions_member_add_note", args=[member.pk]), {"text": text})


@pytest.mark.parametrize("role", ["cx_agent", "cx_supervisor"])
def test_cx_add_a_contact_note_that_the_timeline_shows_with_who_and_when(client, make_staff, role):
    staff = make_staff(role)
    client.force_login(staff)
    member = MemberFactory()
    response = add_note(client, member, "  ご本人から電話。失効の理由を説明。  ")
    assert response.status_code == 302
    note = ContactNote.objects.get(member=member)
    assert (note.text, note.staff_user) == ("ご本人から電話。失効の理由を説明。", staff)
    page = member_page(client, member)
    first = next(iter(page.context["timeline"]))
    assert (first.kind, first.detail, first.staff_user) == ("note", note.text, staff)


@pytest.mark.parametrize("role", ["ops", "finance"])
def test_roles_that_do_not_talk_to_members_cannot_add_notes(client, make_staff, role):
    client.force_login(make_staff(role))
    member = MemberFactory()
    assert add_note(client, member, "メモ").status_code == 403
    assert not ContactNote.objects.exists()


def test_an_empty_or_too_long_note_is_refused_and_nothing_is_written(client, make_staff):
    client.force_login(make_staff("cx_agent"))
    member = MemberFactory()
    add_note(client, member, "   ")
    add_note(client, member, "あ" * 2001)
    assert not ContactNote.objects.exists()


@pytest.mark.parametrize("account", ["cx_agent", "cx_supervisor", "superuser"])
def test_nobody_changes_or_deletes_a_note_in_admin(client, make_staff, account):
    user = make_staff(superuser=True) if account == "superuser" else make_staff(account)
    client.force_login(user)
    note = ContactNote.objects.create(member=MemberFactory(), staff_user=StaffUserFactory(), text="最初のメモ")
    change = reverse("admin:backoffice_contactnote_change", args=[note.pk])
    page = client.get(change)
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert client.post(change, {"text": "書き換え"}).status_code == 403
    assert (
        client.post(reverse("admin:backoffice_contactnote_delete", args=[note.pk]), {"post": "yes"}).status_code == 403
    )
    assert client.get(reverse("admin:backoffice_contactnote_add")).status_code == 403
    note.refresh_from_db()
    assert note.text == "最初のメモ"
    if not user.is_superuser:  # a superuser "has" every permission; the admin refuses it all the same
        assert not user.has_perm("backoffice.change_contactnote")
        assert not user.has_perm("backoffice.delete_contactnote")


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_a_note(db):
    note = ContactNote.objects.create(member=MemberFactory(), staff_user=StaffUserFactory(), text="最初のメモ")
    for statement in [
        lambda: ContactNote.objects.filter(pk=note.pk).update(text="書き換え"),
        lambda: ContactNote.objects.filter(pk=note.pk).delete(),
    ]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            statement()
    note.refresh_from_db()
    assert note.text == "最初のメモ"


def test_a_cancelled_exchange_is_one_row_and_its_cancellation_another(client, make_staff, catalogue, grant_points):
    from exchange.services import exchange_cancel

    agent = make_staff("cx_agent")
    client.force_login(agent)
    member = MemberFactory()
    subscription_save(member=member, items={catalogue["sunrise"]: 1})
    grant_points(member, 100)
    exchange = exchange_place(
        member=member, lines=[(catalogue["reward"], 1)], ship_now=False, idempotency_key=uuid.uuid4(), staff_user=agent
    )
    exchange_cancel(exchange=exchange, staff_user=agent, reason="在庫切れ")
    items = list(member_page(client, member).context["timeline"])
    rows = [(item.kind, item.points, item.balance_after) for item in items if item.reference == exchange.number]
    assert rows == [("entry", 42, 100), ("exchange", -42, 58)]  # the cancellation, then the exchange
