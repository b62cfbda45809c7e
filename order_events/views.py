"""HTTP endpoints for order events: JSON, HMAC-signed, idempotent by event id, answered 202.

docs/api.md ("Order events over HTTP") documents the contract with a curl example.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from order_events.exceptions import EventRejected
from order_events.models import OrderEvent
from order_events.services import event_verify, order_event_receive

MAX_BODY_BYTES = 16 * 1024
# No event nests deeper than this; far below the depth where the JSON parser would recurse out.
MAX_DEPTH = 20
# No event of this program happened before it existed; the order's own dates bound it further.
OLDEST_OCCURRED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _field(payload: dict, name: str, *, required: bool = True, max_length: int = 100) -> str:
    value = payload.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise EventRejected(400, "malformed_body", f"'{name}' must be a non-empty string of at most {max_length}.")
    return value.strip()


def _occurred_at(payload: dict, *, now: dt.datetime, max_skew: int) -> dt.datetime | None:
    value = payload.get("occurred_at")
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or timezone.is_naive(moment):
        raise EventRejected(400, "malformed_body", "'occurred_at' must be an ISO 8601 datetime with a UTC offset.")
    try:
        moment = moment.astimezone(dt.UTC)  # year 1 at +14:00 would be year 0: not a date
    except OverflowError:
        moment = None
    if moment is None or moment < OLDEST_OCCURRED_AT:
        raise EventRejected(422, "occurred_at_out_of_range", f"'occurred_at' is before {OLDEST_OCCURRED_AT:%Y-%m-%d}.")
    if moment > now + dt.timedelta(seconds=max_skew):
        raise EventRejected(422, "occurred_at_out_of_range", f"'occurred_at' is more than {max_skew} s in the future.")
    return moment


def _payload_parse(body: bytes) -> dict:
    """The body as a JSON object, or a refusal. Every string in it, keys included and however
    deep, must be storable text: PostgreSQL cannot hold a NUL byte, and an unpaired surrogate
    (``\\ud800``) cannot be encoded; both are refused here, before any lookup or write."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError: not JSON, or a number of more than 4,300 digits; RecursionError: nesting.
        raise EventRejected(400, "malformed_body", "The body must be a JSON object.") from None
    if not isinstance(payload, dict):
        raise EventRejected(400, "malformed_body", "The body must be a JSON object.")
    pending = [(payload, "the body", 0)]
    while pending:
        value, where, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise EventRejected(400, "malformed_body", f"The body nests deeper than {MAX_DEPTH} levels.")
        if isinstance(value, dict):
            for key, item in value.items():
                _text_check(key, where=f"a field name in {where}")
                pending.append((item, f"'{key}'", depth + 1))
        elif isinstance(value, list):
            pending.extend((item, where, depth + 1) for item in value)
        elif isinstance(value, str):
            _text_check(value, where=where)
    return payload


def _text_check(value: str, *, where: str) -> None:
    if "\x00" in value:
        raise EventRejected(400, "invalid_text", f"{where} contains a NUL byte (\\u0000), which cannot be stored.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise EventRejected(
            400, "invalid_text", f"{where} contains an unpaired surrogate, which is not text."
        ) from None


def _receive(request, kind: str) -> JsonResponse:
    now = timezone.now()
    try:
        if request.method != "POST":
            raise EventRejected(405, "method_not_allowed", "Use POST.")
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            raise EventRejected(413, "body_too_large", f"The body is limited to {MAX_BODY_BYTES} bytes.")
        event_verify(
            timestamp=request.headers.get("X-SSR-Timestamp"),
            signature=request.headers.get("X-SSR-Signature"),
            body=body,
            now=now,
        )
        payload = _payload_parse(body)
        event, created = order_event_receive(
            event_id=_field(payload, "event_id"),
            kind=kind,
            member_number=_field(payload, "member_number", max_length=20),
            order_number=_field(payload, "order_number", max_length=32),
            occurred_at=_occurred_at(payload, now=now, max_skew=settings.ORDER_EVENTS_MAX_SKEW_SECONDS),
            reason=_field(payload, "reason", required=False, max_length=300),
            body_sha256=hashlib.sha256(body).hexdigest(),
            now=now,
        )
    except EventRejected as rejection:
        return JsonResponse({"error": rejection.code, "reason": rejection.reason}, status=rejection.status)
    return JsonResponse(
        {"status": "accepted" if created else "duplicate", "event_id": event.event_id, "order": event.order.number},
        status=202,
    )


@csrf_exempt
def order_shipped(request):
    return _receive(request, OrderEvent.Kind.SHIPPED)


@csrf_exempt
def order_returned(request):
    return _receive(request, OrderEvent.Kind.RETURNED)
