"""The ledger records facts when they are written (docs/ledger.md): an event's ``occurred_at`` is
kept on the order, never used to move the ledger back in time. Through the signed HTTP events."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from order_events.models import OrderEvent
from ssr_points import batches
from ssr_points.models import Entry, Lot, PointAccount
from ssr_points.services import lot_expires_at, points_grant_for_order, points_redeem
from subscriptions.models import SubscriptionOrder
from tests.factories import CreatedOrderFactory, MemberFactory, OrderFactory, SubscriptionFactory
from tests.order_events.test_views import RETURNED, SECRET, SHIPPED, post


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.ORDER_EVENTS_SECRET = SECRET
    settings.ORDER_EVENTS_MAX_SKEW_SECONDS = 300


def days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def granted(member, points, *, days: int) -> Lot:
    """A lot written ``days`` ago (the clock then), from an order shipped then."""
    subscription = member.subscriptions.first() or SubscriptionFactory(member=member)
    order = OrderFactory(
        subscription=subscription, pv=Decimal(points * 10), shipped_at=days_ago(days), created_at=days_ago(days + 5)
    )
    return points_grant_for_order(order=order, now=days_ago(days))


def event(order, occurred_at, event_id="evt-1"):
    return json.dumps(
        {
            "event_id": event_id,
            "member_number": order.member.member_number,
            "order_number": order.number,
            "occurred_at": occurred_at if isinstance(occurred_at, str) else occurred_at.isoformat(),
        }
    ).encode()


def ledger(member):
    account = PointAccount.objects.get(member=member)
    return account.balance, account.debt


def test_a_back_dated_return_takes_the_spent_points_from_lots_granted_after_its_date(client, db, assert_ledger_ok):
    member = MemberFactory()
    returned = granted(member, 30, days=100)
    later = granted(member, 50, days=10)
    points_redeem(member=member, points=40, reference="EX-1", reason="交換")  # 30 from the returned lot, 10 later
    started = timezone.now()
    response = post(client, RETURNED, event(returned.order, days_ago(50)))  # before the later lot existed
    assert response.status_code == 202, response.content
    later.refresh_from_db()
    assert ledger(member) == (10, 0) and later.remaining == 10  # no debt while points are spendable
    clawback = Entry.objects.get(member=member, kind=Entry.Kind.CLAWBACK)
    assert clawback.points == -30 and clawback.created_at >= started  # dated when written
    order = SubscriptionOrder.objects.get(pk=returned.order_id)
    assert abs(order.returned_at - days_ago(50)) < dt.timedelta(seconds=5)  # the outside date is kept
    assert OrderEvent.objects.get().occurred_at == order.returned_at
    assert_ledger_ok()


def test_expired_points_never_pay_a_clawback_even_before_the_nightly_job_records_them(client, db, assert_ledger_ok):
    member = MemberFactory()
    lapsed = granted(member, 12, days=400)  # expired ~35 days ago; the nightly job has not run
    returned = granted(member, 20, days=100)
    points_redeem(member=member, points=20, reference="EX-1", reason="交換")
    response = post(client, RETURNED, event(returned.order, days_ago(50)))  # when the old lot was valid
    assert response.status_code == 202, response.content
    lapsed.refresh_from_db()
    assert lapsed.remaining == 12  # untouched: it pays nothing
    assert PointAccount.objects.get(member=member).debt == 20
    assert batches.points_expire_due().points == 12  # the job then records its expiry
    assert ledger(member) == (-20, 20)
    assert_ledger_ok()


def test_a_return_after_the_returned_lot_lapsed_records_the_lapse_as_expiry_not_clawback(client, db, assert_ledger_ok):
    member = MemberFactory()
    returned = granted(member, 20, days=400)  # expired, unrecorded; 5 of it were spent in time
    points_redeem(member=member, points=5, reference="EX-1", reason="交換", now=days_ago(390))
    granted(member, 10, days=3)
    assert post(client, RETURNED, event(returned.order, days_ago(1))).status_code == 202
    kinds = dict(Entry.objects.filter(lot=returned, kind__in=["expiry", "clawback"]).values_list("kind", "points"))
    assert kinds == {"expiry": -15, "clawback": -5}  # the lapsed 15 expired; the spent 5 come back
    assert ledger(member) == (5, 0)
    assert_ledger_ok()


def test_a_back_dated_shipment_grants_a_lot_with_its_full_twelve_months_from_now(
    client, db, django_capture_on_commit_callbacks, assert_ledger_ok
):
    order = CreatedOrderFactory(pv=Decimal("180"), created_at=days_ago(40))
    started = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, SHIPPED, event(order, days_ago(30)))
    assert response.status_code == 202, response.content
    lot = Lot.objects.get(order=order)
    assert lot.granted_at >= started
    assert lot.expires_at == lot_expires_at(granted_at=lot.granted_at, zone="Asia/Tokyo")
    order.refresh_from_db()
    assert abs(order.shipped_at - days_ago(30)) < dt.timedelta(seconds=5)
    assert_ledger_ok()


@pytest.mark.parametrize(
    "occurred_at",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC: no database can store it
        "1999-12-31T23:59:59+00:00",  # before the program existed
        "2001-01-01T00:00:00+09:00",  # a valid date, but before the order existed
    ],
)
def test_a_shipment_dated_before_its_order_existed_is_refused_and_changes_nothing(client, db, occurred_at):
    order = CreatedOrderFactory(pv=Decimal("180"), created_at=days_ago(40))
    response = post(client, SHIPPED, event(order, occurred_at))
    assert response.status_code == 422
    assert response.json()["error"] == "occurred_at_out_of_range"
    order.refresh_from_db()
    assert (order.status, order.shipped_at) == (SubscriptionOrder.Status.CREATED, None)
    assert (OrderEvent.objects.count(), Lot.objects.count(), Entry.objects.count()) == (0, 0, 0)


def test_a_return_dated_before_its_order_shipped_is_refused_and_changes_nothing(client, db):
    member = MemberFactory()
    lot = granted(member, 30, days=20)
    response = post(client, RETURNED, event(lot.order, days_ago(25)))
    assert response.status_code == 422 and response.json()["error"] == "occurred_at_out_of_range"
    assert ledger(member) == (30, 0)
    assert SubscriptionOrder.objects.get(pk=lot.order_id).status == SubscriptionOrder.Status.SHIPPED
    assert not OrderEvent.objects.exists()
