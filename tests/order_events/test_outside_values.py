"""Every outside value of a signed order event is range-checked: a NUL byte or an unpaired
surrogate in any string, a number no column can hold, nesting deeper than any event has,
fields longer than their columns. Each is a 4xx with a JSON reason, and nothing is written
(issue 10, break 6: ``\\u0000`` in a signed event's JSON answered 500)."""

import json

import pytest

from tests.order_events.test_views import RETURNED, SHIPPED, body_for, post, snapshot


def raw_body(order, **fields) -> bytes:
    """The event's JSON with ``fields`` spliced in as raw JSON text (escapes kept as sent)."""
    payload = {"event_id": "evt-1", "member_number": order.member.member_number, "order_number": order.number}
    text = json.dumps(payload)[:-1]
    for name, raw in fields.items():
        text += f", {json.dumps(name)}: {raw}"
    return (text + "}").encode()


def member_and_order(order):
    return json.dumps(order.member.member_number), json.dumps(order.number)


@pytest.mark.parametrize(
    "field",
    ["event_id", "member_number", "order_number", "occurred_at", "reason", "note", "nested", "key"],
)
@pytest.mark.parametrize("bad", [r"\u0000", r"\ud800"], ids=["nul", "lone_surrogate"])
@pytest.mark.parametrize("url", [SHIPPED, RETURNED], ids=["shipped", "returned"])
def test_a_nul_byte_or_unpaired_surrogate_in_any_string_is_refused_and_changes_nothing(client, order, field, bad, url):
    member_number, order_number = member_and_order(order)
    fields = {
        "event_id": f'"evt{bad}1"',
        "member_number": json.dumps(order.member.member_number)[:-1] + bad + '"',
        "order_number": json.dumps(order.number)[:-1] + bad + '"',
        "occurred_at": f'"2026-03-01T10:00:00{bad}+09:00"',
        "reason": f'"お客様都合{bad}"',
        "note": f'"an unknown field{bad}"',
        "nested": f'{{"lines": [{{"sku": "A{bad}"}}]}}',
    }
    if field == "key":
        body = (
            b'{"event_id": "evt-1", "member_number": '
            + member_number.encode()
            + b', "order_number": '
            + order_number.encode()
            + f', "x{bad}": 1}}'.encode()
        )
    elif field in ("event_id", "member_number", "order_number"):
        payload = {"event_id": '"evt-1"', "member_number": member_number, "order_number": order_number}
        payload[field] = fields[field]
        body = ("{" + ", ".join(f'"{name}": {raw}' for name, raw in payload.items()) + "}").encode()
    else:
        body = raw_body(order, **{field: fields[field]})
    before = snapshot(order)
    response = post(client, url, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_text"
    assert "NUL" in response.json()["reason"] or "surrogate" in response.json()["reason"]
    assert snapshot(order) == before


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        ("1" * 5000, "a 5,000-digit number"),
        ("-" + "9" * 10000, "a 10,000-digit negative number"),
        ("[" * 3000 + "]" * 3000, "3,000 nested arrays"),
        ('{"a":' * 2000 + "1" + "}" * 2000, "2,000 nested objects"),
    ],
)
def test_numbers_and_nesting_no_event_can_have_are_refused_and_change_nothing(client, order, raw, what):
    before = snapshot(order)
    response = post(client, SHIPPED, raw_body(order, extra=raw))
    assert response.status_code == 400, what
    assert response.json()["error"] == "malformed_body" and response.json()["reason"]
    assert snapshot(order) == before


@pytest.mark.parametrize(
    ("field", "length"),
    [("event_id", 101), ("member_number", 21), ("order_number", 33), ("reason", 301)],
)
def test_fields_longer_than_their_columns_are_refused_and_change_nothing(client, order, field, length):
    before = snapshot(order)
    payload = json.loads(body_for(order))
    payload[field] = "9" * length
    response = post(client, RETURNED if field == "reason" else SHIPPED, json.dumps(payload).encode())
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_body" and field in response.json()["reason"]
    assert snapshot(order) == before


def test_an_unknown_member_or_order_number_of_any_shape_is_a_404_that_changes_nothing(client, order):
    before = snapshot(order)
    for member_number, order_number in [("0", order.number), ("１００００１", order.number), (None, "SO-0")]:
        payload = json.loads(body_for(order))
        payload["member_number"] = member_number or order.member.member_number
        payload["order_number"] = order_number
        response = post(client, SHIPPED, json.dumps(payload).encode())
        assert response.status_code == 404
        assert response.json()["error"] in ("unknown_member", "unknown_order")
    assert snapshot(order) == before
