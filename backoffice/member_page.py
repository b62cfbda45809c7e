"""What the CX member page reads: the summary that answers a call, and the member's timeline.

A fixed number of queries whatever the member's history (tests/backoffice/test_member_page.py
counts them at 10 and at 5,000 ledger entries):

- the summary: points (one query for the spendable lots and the debt), what expires in the
  next 90 days and the next expiry (one grouped query), the subscription (one), open requests
  to CX (one);
- the timeline: one ``UNION ALL`` of (kind, id, instant) over the member's ledger entries,
  orders (created, shipped, returned), requests, contact notes and lifted login lockouts, sorted
  and cut to the page in the database; its count; then the page's rows, one query per kind
  present (the exchanges of the entries with their lines and product names in two), and one sum
  for the running balance. An exchange is one row: its redemption entry, shown as the exchange
  (status, products, total) with the points it took and the balance after; a cancellation is the
  row of its reversal entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from axes.models import AccessAttempt
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Case, CharField, F, IntegerField, Max, Prefetch, Q, QuerySet, Sum, Value, When
from django.urls import reverse
from django.utils import timezone

from backoffice.models import ContactNote, LoginLockoutLift
from exchange.models import Exchange, ExchangeChange, ExchangeLine, ExchangeRequest
from exchange.quotes import cancel_last_day
from ssr_points.models import Entry, Lot
from ssr_points.selectors import points_spendable
from subscriptions.models import Member, Subscription, SubscriptionOrder

EXPIRING_SOON_DAYS = 90
TIMELINE_PER_PAGE = 10
OPEN_REQUESTS_SHOWN = 3


# -- the summary -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSummary:
    available: int
    debt: int
    balance: int
    expiring_soon_points: int
    expiring_soon_first: dt.datetime | None  # the soonest expiry instant among them
    next_expiry: dt.datetime | None
    next_expiry_points: int
    subscription: Subscription | None
    bundle_last_day: dt.date | None
    open_requests: list[ExchangeRequest]
    open_request_count: int


def bundle_last_day(subscription: Subscription | None) -> dt.date | None:
    """The last day an exchange placed now (or a change to the box) still ships in the next
    subscription box: the day before its shipment, as the member's pages say and
    ``exchange.services.box_open_check`` holds it."""
    if subscription is None or subscription.status != Subscription.Status.ACTIVE:
        return None
    return cancel_last_day(subscription.next_shipment_date)


def member_summary(*, member: Member, now: dt.datetime | None = None) -> MemberSummary:
    now = now or timezone.now()
    spendable = points_spendable(member=member, at=now)
    soon = now + dt.timedelta(days=EXPIRING_SOON_DAYS)
    by_expiry = list(
        Lot.objects.filter(member_id=member.pk)
        .spendable(at=now)
        .values("expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("expires_at")
    )
    expiring = [row for row in by_expiry if row["expires_at"] <= soon]
    active_first = Case(When(status=Subscription.Status.ACTIVE, then=Value(0)), default=Value(1))
    subscription = Subscription.objects.filter(member_id=member.pk).order_by(active_first, "-created_at").first()
    requests = list(
        ExchangeRequest.objects.filter(
            member_id=member.pk, status__in=[ExchangeRequest.Status.OPEN, ExchangeRequest.Status.IN_PROGRESS]
        ).order_by("created_at")[: OPEN_REQUESTS_SHOWN + 1]
    )
    return MemberSummary(
        available=spendable.available,
        debt=spendable.debt,
        balance=spendable.available,
        expiring_soon_points=sum(row["points"] for row in expiring),
        expiring_soon_first=expiring[0]["expires_at"] if expiring else None,
        next_expiry=by_expiry[0]["expires_at"] if by_expiry else None,
        next_expiry_points=by_expiry[0]["points"] if by_expiry else 0,
        subscription=subscription,
        bundle_last_day=bundle_last_day(subscription),
        open_requests=requests[:OPEN_REQUESTS_SHOWN],
        open_request_count=len(requests),
    )


# -- the login lockout (django-axes) ---------------------------------------------------------------


@dataclass(frozen=True)
class LockedPair:
    ip_address: str | None
    failures: int
    until: dt.datetime  # when this address may try again


@dataclass(frozen=True)
class LoginLockout:
    username: str  # the login identifier axes counts under (docs/security.md)
    locked: list[LockedPair]
    failures: int  # wrong passwords still counted, locked or not

    @property
    def until(self) -> dt.datetime | None:
        return max((pair.until for pair in self.locked), default=None)


def member_login_lockout(*, member: Member, now: dt.datetime | None = None) -> LoginLockout:
    """Where the member's login is locked now: per (account, IP) pair, ``AXES_FAILURE_LIMIT`` wrong
    passwords lock that pair for ``AXES_COOLOFF_TIME`` after the last one. One grouped query."""
    now = now or timezone.now()
    username = member.user.get_username().casefold()
    rows = (
        AccessAttempt.objects.filter(username=username)
        .values("ip_address")
        .annotate(failures=Max("failures_since_start"), last=Max("attempt_time"))
        .order_by("ip_address")
    )
    locked, failures = [], 0
    for row in rows:
        until = row["last"] + settings.AXES_COOLOFF_TIME
        if until <= now:
            continue  # cooled off: axes no longer counts these
        failures += row["failures"]
        if row["failures"] >= settings.AXES_FAILURE_LIMIT:
            locked.append(LockedPair(ip_address=row["ip_address"], failures=row["failures"], until=until))
    return LoginLockout(username=username, locked=locked, failures=failures)


# -- the timeline ----------------------------------------------------------------------------------


@dataclass
class TimelineItem:
    kind: str  # entry, exchange, order_created, order_shipped, order_returned, request, note
    at: dt.datetime
    row: object
    label: str = ""
    detail: str = ""
    points: int | None = None
    balance_after: int | None = None
    yen: int | None = None
    status: str = ""
    reference: str = ""
    reference_url: str = ""
    staff_user: object = None
    products: list[str] = field(default_factory=list)
    close_reason: str = ""
    entry: Entry | None = None  # the ledger entry of the row, for its balance after


# Events at the same instant, newest first: what a step caused above the step (a shipment's grant
# above the shipment, an exchange above its redemption entry).
EVENT_RANK = {
    "order_created": 0,
    "order_shipped": 1,
    "order_returned": 1,
    "entry": 2,
    "exchange": 3,
    "request": 4,
    "note": 5,
    "lockout_lift": 6,
    "box_change": 3,
}


def _events(queryset: QuerySet, kind: str, at: str) -> QuerySet:
    return (
        queryset.filter(**{f"{at}__isnull": False})
        .annotate(
            event_kind=Value(kind, output_field=CharField()),
            event_id=F("pk"),
            event_at=F(at),
            event_rank=Value(EVENT_RANK[kind], output_field=IntegerField()),
        )
        .values_list("event_kind", "event_id", "event_at", "event_rank")
        .order_by()
    )


def timeline_events(*, member: Member) -> QuerySet:
    """(kind, id, instant, rank) of everything that happened to the member, newest first."""
    orders = SubscriptionOrder.objects.filter(member_id=member.pk)
    parts = [
        # An exchange is the row of its redemption entry (folded in below), not a row of its own.
        _events(Entry.objects.filter(member_id=member.pk), "entry", "created_at"),
        _events(orders, "order_created", "created_at"),
        _events(orders, "order_shipped", "shipped_at"),
        _events(orders, "order_returned", "returned_at"),
        _events(ExchangeRequest.objects.filter(member_id=member.pk), "request", "created_at"),
        _events(ContactNote.objects.filter(member_id=member.pk), "note", "created_at"),
        _events(LoginLockoutLift.objects.filter(member_id=member.pk), "lockout_lift", "lifted_at"),
        # A change of a box (not its placing, which is the exchange's row): who, when, points, fee.
        _events(
            ExchangeChange.objects.filter(member_id=member.pk, kind=ExchangeChange.Kind.CHANGED),
            "box_change",
            "created_at",
        ),
    ]
    return parts[0].union(*parts[1:], all=True).order_by("-event_at", "-event_rank", "-event_id")


def member_timeline(*, member: Member, page: int | str = 1, per_page: int = TIMELINE_PER_PAGE) -> Page:
    """One page of the member's timeline, each event a ``TimelineItem`` (running balance after
    each ledger entry, product names of exchanges, references linked, the staff user)."""
    paginator = Paginator(timeline_events(member=member), per_page)
    page_obj = paginator.get_page(page)
    events = list(page_obj.object_list)
    ids: dict[str, list[int]] = {}
    for kind, pk, _at, _rank in events:
        ids.setdefault(kind.removeprefix("order_") if kind.startswith("order_") else kind, []).append(pk)
    entries = (
        {e.pk: e for e in Entry.objects.filter(pk__in=ids["entry"]).select_related("staff_user", "order")}
        if "entry" in ids
        else {}
    )
    exchanges = {}
    if entries:
        # A box's later redemptions and returns name it by its number.
        numbers = {e.reference for e in entries.values() if e.kind in (Entry.Kind.REDEMPTION, Entry.Kind.REVERSAL)}
        exchange_query = Q(redemption_id__in=entries) | Q(reversal_id__in=entries) | Q(number__in=numbers)
        lines = ExchangeLine.objects.select_related("product").order_by("pk")
        exchanges = {
            x.pk: x
            for x in Exchange.objects.filter(exchange_query, member_id=member.pk)
            .select_related("placed_by")
            .prefetch_related(Prefetch("lines", queryset=lines))
        }
    by_entry = {}
    by_number = {exchange.number: exchange for exchange in exchanges.values()}
    for entry in entries.values():
        if entry.kind in (Entry.Kind.REDEMPTION, Entry.Kind.REVERSAL) and entry.reference in by_number:
            by_entry[entry.pk] = by_number[entry.reference]
    for exchange in exchanges.values():
        by_entry[exchange.redemption_id] = exchange
        if exchange.reversal_id:
            by_entry[exchange.reversal_id] = exchange
    changes = (
        {
            c.pk: c
            for c in ExchangeChange.objects.filter(pk__in=ids["box_change"], member_id=member.pk).select_related(
                "exchange", "staff_user"
            )
        }
        if "box_change" in ids
        else {}
    )
    orders = {}
    if order_ids := ids.get("created", []) + ids.get("shipped", []) + ids.get("returned", []):
        orders = {o.pk: o for o in SubscriptionOrder.objects.filter(pk__in=order_ids, member_id=member.pk)}
    requests = (
        {
            r.pk: r
            for r in ExchangeRequest.objects.filter(pk__in=ids["request"]).select_related("handled_by", "exchange")
        }
        if "request" in ids
        else {}
    )
    notes = (
        {n.pk: n for n in ContactNote.objects.filter(pk__in=ids["note"]).select_related("staff_user")}
        if "note" in ids
        else {}
    )
    lifts = (
        {x.pk: x for x in LoginLockoutLift.objects.filter(pk__in=ids["lockout_lift"]).select_related("staff_user")}
        if "lockout_lift" in ids
        else {}
    )

    items = []
    for kind, pk, at, _rank in events:
        if kind == "entry":
            exchange = by_entry.get(pk)
            if exchange is not None and exchange.redemption_id == pk:
                items.append(_exchange_item(exchange, entries[pk]))
            else:
                items.append(_entry_item(entries[pk], exchange))
        elif kind.startswith("order_"):
            items.append(_order_item(orders[pk], kind, at))
        elif kind == "request":
            items.append(_request_item(requests[pk]))
        elif kind == "box_change":
            items.append(_box_change_item(changes[pk]))
        elif kind == "lockout_lift":
            lift = lifts[pk]
            items.append(
                TimelineItem(
                    kind=kind,
                    at=lift.lifted_at,
                    row=lift,
                    detail=lift.addresses.replace("\n", "、"),
                    staff_user=lift.staff_user,
                )
            )
        else:
            items.append(_note_item(notes[pk]))
    _running_balance(member, [item for item in items if item.entry is not None])
    page_obj.object_list = items
    return page_obj


def _running_balance(member: Member, entry_items: list[TimelineItem]) -> None:
    """The member's points balance (the sum of the ledger) after each entry, newest first."""
    if not entry_items:
        return
    newest = entry_items[0].entry
    balance = (
        Entry.objects.filter(member_id=member.pk)
        .filter(Q(created_at__lt=newest.created_at) | Q(created_at=newest.created_at, pk__lte=newest.pk))
        .aggregate(total=Sum("points"))["total"]
        or 0
    )
    for item in entry_items:
        item.balance_after = balance
        balance -= item.entry.points


def _url(name: str, pk: int) -> str:
    return reverse(f"admin:{name}_change", args=[pk])


def _products(exchange: Exchange) -> list[str]:
    return [f"{line.product.name} × {line.quantity}" for line in exchange.lines.all()]


def _entry_item(entry: Entry, exchange: Exchange | None) -> TimelineItem:
    item = TimelineItem(
        kind="entry",
        at=entry.created_at,
        row=entry,
        label=entry.get_kind_display(),
        detail=entry.reason,
        points=entry.points,
        staff_user=entry.staff_user,
        reference=entry.reference or "",
        entry=entry,
    )
    if exchange is not None:
        item.reference, item.reference_url = exchange.number, _url("exchange_exchange", exchange.pk)
        item.products = _products(exchange)
    elif entry.order_id:
        item.reference, item.reference_url = entry.order.number, _url("subscriptions_subscriptionorder", entry.order_id)
    return item


def _exchange_item(exchange: Exchange, redemption: Entry) -> TimelineItem:
    """The exchange and the points it took, in one row (its redemption entry folded in)."""
    return TimelineItem(
        kind="exchange",
        at=redemption.created_at,
        row=exchange,
        status=exchange.get_status_display(),
        points=redemption.points,
        yen=exchange.total,
        staff_user=exchange.placed_by or redemption.staff_user,
        entry=redemption,
        reference=exchange.number,
        reference_url=_url("exchange_exchange", exchange.pk),
        products=_products(exchange),
    )


def _box_change_item(change: ExchangeChange) -> TimelineItem:
    """A change of a box: its rewards after it, the points before and after, the fee after; the
    points it redeemed or returned are the ledger rows of the same instant."""
    return TimelineItem(
        kind="box_change",
        at=change.created_at,
        row=change,
        status=f"#{change.revision}",
        yen=change.total,
        staff_user=change.staff_user,
        reference=change.exchange.number,
        reference_url=_url("exchange_exchange", change.exchange_id),
        products=[f"{line['name_ja']} × {line['quantity']}" for line in change.lines],
    )


def _order_item(order: SubscriptionOrder, kind: str, at: dt.datetime) -> TimelineItem:
    return TimelineItem(
        kind=kind,
        at=at,
        row=order,
        status=order.get_status_display(),
        yen=order.total_incl_tax,
        reference=order.number,
        reference_url=_url("subscriptions_subscriptionorder", order.pk),
    )


def _request_item(request: ExchangeRequest) -> TimelineItem:
    item = TimelineItem(
        kind="request",
        at=request.created_at,
        row=request,
        status=request.get_status_display(),
        detail=request.message,
        close_reason=request.close_reason,
        staff_user=request.handled_by,
        reference=str(request.pk),
        reference_url=_url("exchange_exchangerequest", request.pk),
    )
    return item


def _note_item(note: ContactNote) -> TimelineItem:
    return TimelineItem(kind="note", at=note.created_at, row=note, detail=note.text, staff_user=note.staff_user)
