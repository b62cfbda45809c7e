"""Order events over HTTP: signed, fresh, idempotent by event id; every refusal changes nothing."""

import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from order_events.models import OrderEvent
from order_events.services import event_signature
from ssr_points.models import Entry, Lot, PointAccount
from subscriptions.models import SubscriptionOrder

SECRET = "test-order-events-secret"
SHIPPED = "/api/events/order-shipped/"
RETURNED = "/api/events/order-returned/"

# The secret and the ``order`` fixture: tests/order_events/conftest.py.


def body_for(order, event_id="evt-1", **extra):
    return json.dumps(
        {"event_id": event_id, "member_number": order.member.member_number, "order_number": order.number, **extra}
    ).encode()


def post(client, url, body: bytes, *, timestamp=None, secret=SECRET, signature=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "HTTP_X_SSR_TIMESTAMP": timestamp,
        "HTTP_X_SSR_SIGNATURE": signature or event_signature(secret=secret, timestamp=timestamp, body=body),
    }
    return client.post(url, data=body, content_type="application/json", **headers)


def snapshot(order):
    order.refresh_from_db()
    return (
        order.status,
        order.shipped_at,
        OrderEvent.objects.count(),
        Lot.objects.count(),
        Entry.objects.count(),
        PointAccount.objects.get(member=order.member).balance,
    )


def test_order_shipped_is_accepted_once_and_grants_the_points(
    client, order, django_capture_on_commit_callbacks, assert_ledger_ok
):
    shipped_at = timezone.now() - dt.timedelta(hours=2)
    body = body_for(order, occurred_at=shipped_at.isoformat())
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, SHIPPED, body)
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "event_id": "evt-1", "order": order.number}
    order.refresh_from_db()
    assert (order.status, order.shipped_at) == (SubscriptionOrder.Status.SHIPPED, shipped_at)
    assert Lot.objects.get(order=order).amount == 18
    before = snapshot(order)
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, SHIPPED, body)  # the same event, delivered again
    assert again.status_code == 202 and again.json()["status"] == "duplicate"
    assert snapshot(order) == before
    assert_ledger_ok()


def test_order_returned_claws_the_points_back(client, order, django_capture_on_commit_callbacks, assert_ledger_ok):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, SHIPPED, body_for(order, "evt-1")).status_code == 202
    response = post(client, RETURNED, body_for(order, "evt-2", reason="お客様都合の返品"))
    assert response.status_code == 202
    order.refresh_from_db()
    assert order.status == SubscriptionOrder.Status.RETURNED
    clawback = Entry.objects.get(order=order, kind=Entry.Kind.CLAWBACK)
    assert (clawback.points, clawback.reason) == (-18, "お客様都合の返品")
    assert PointAccount.objects.get(member=order.member).balance == 0
    assert_ledger_ok()


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("bad_signature", 401, "bad_signature"),
        ("wrong_secret", 401, "bad_signature"),
        ("no_signature", 401, "signature_missing"),
        ("stale", 401, "stale_timestamp"),
        ("future", 401, "stale_timestamp"),
        ("timestamp_not_a_number", 400, "bad_timestamp"),
        ("tampered_body", 401, "bad_signature"),
    ],
)
def test_unsigned_wrongly_signed_or_replayed_requests_are_refused(client, order, case, status, code):
    before = snapshot(order)
    body = body_for(order)
    now = int(time.time())
    if case == "bad_signature":
        response = post(client, SHIPPED, body, signature="sha256=" + "0" * 64)
    elif case == "wrong_secret":
        response = post(client, SHIPPED, body, secret="not-the-secret")
    elif case == "no_signature":
        response = client.post(SHIPPED, data=body, content_type="application/json")
    elif case == "stale":
        response = post(client, SHIPPED, body, timestamp=now - 301)
    elif case == "future":
        response = post(client, SHIPPED, body, timestamp=now + 301)
    elif case == "timestamp_not_a_number":
        response = post(client, SHIPPED, body, timestamp="yesterday")
    else:
        signature = event_signature(secret=SECRET, timestamp=str(now), body=body)
        response = post(client, SHIPPED, body_for(order, "evt-other"), timestamp=now, signature=signature)
    assert response.status_code == status
    assert response.json()["error"] == code and response.json()["reason"]
    assert snapshot(order) == before


def test_a_timestamp_just_inside_the_allowed_skew_is_accepted(client, order):
    assert post(client, SHIPPED, body_for(order), timestamp=int(time.time()) - 290).status_code == 202


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "malformed_body"),
        (b"[1, 2]", 400, "malformed_body"),
        (b'{"member_number": "100000", "order_number": "SO-1"}', 400, "malformed_body"),
        (b'{"event_id": "e", "member_number": "999999", "order_number": "SO-1"}', 404, "unknown_member"),
        ("ORDER_UNKNOWN", 404, "unknown_order"),
        ("BAD_OCCURRED_AT", 400, "malformed_body"),
        ("NAIVE_OCCURRED_AT", 400, "malformed_body"),
        ("FUTURE_OCCURRED_AT", 422, "occurred_at_out_of_range"),
        ("EVENT_ID_NOT_A_STRING", 400, "malformed_body"),
    ],
)
def test_malformed_bodies_and_unknown_members_or_orders_are_refused(client, order, body, status, code):
    before = snapshot(order)
    member_number = order.member.member_number
    bodies = {
        "ORDER_UNKNOWN": body_for(order).replace(order.number.encode(), b"SO-NOPE"),
        "BAD_OCCURRED_AT": body_for(order, occurred_at="last tuesday"),
        "NAIVE_OCCURRED_AT": body_for(order, occurred_at="2026-03-01T10:00:00"),
        "FUTURE_OCCURRED_AT": body_for(order, occurred_at=(timezone.now() + dt.timedelta(days=1)).isoformat()),
        "EVENT_ID_NOT_A_STRING": json.dumps(
            {"event_id": 7, "member_number": member_number, "order_number": order.number}
        ).encode(),
    }
    response = post(client, SHIPPED, bodies.get(body, body) if isinstance(body, str) else body)
    assert response.status_code == status
    assert response.json()["error"] == code
    assert snapshot(order) == before


def test_an_event_id_reused_for_a_different_event_is_refused(client, order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, SHIPPED, body_for(order, "evt-1")).status_code == 202
    before = snapshot(order)
    response = post(client, RETURNED, body_for(order, "evt-1"))
    assert response.status_code == 409 and response.json()["error"] == "event_id_reused"
    assert snapshot(order) == before


def test_events_that_do_not_fit_the_orders_state_are_refused(client, order):
    before = snapshot(order)
    response = post(client, RETURNED, body_for(order, "evt-r"))  # never shipped
    assert response.status_code == 409 and response.json()["error"] == "order_not_shipped"
    assert snapshot(order) == before
    SubscriptionOrder.objects.filter(pk=order.pk).update(status=SubscriptionOrder.Status.CANCELLED)
    before = snapshot(order)
    response = post(client, SHIPPED, body_for(order, "evt-s"))
    assert response.status_code == 409 and response.json()["error"] == "order_not_shippable"
    assert snapshot(order) == before


def test_only_post_is_allowed_and_no_csrf_token_is_needed(order):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.get(SHIPPED).status_code == 405
    assert post(client, SHIPPED, body_for(order)).status_code == 202
