"""Benchmark: the grant sweep (set-based bulk grants) against the hand-written single statement.

Builds on PostgreSQL (database ``ssr_bench4g``, recreated) 100,000 members with a
subscription each and 1,000,000 shipped, not yet granted orders (10 per member, months 1–15
so every earn rate occurs, shipped over the last five weeks); copies it; runs the daily
sweep (``jobs.services.grants_sweep``) on one copy and one hand-written ``INSERT … RETURNING``
statement (lots → entries → balances) on the other; prints both times, the ratio,
orders/s and the longest batch transaction; checks the invariants, that both copies end
identical, that sampled grants equal the per-order service's, and that a second sweep
grants nothing.

    .venv/bin/python -m bench.grants [--members 100000] [--orders 10] [--batch-size 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import zoneinfo

import psycopg

from bench.database import database_clone, database_recreate, database_url, django_setup, members_build, timed

JOB_DB = "ssr_bench4g"
SQL_DB = "ssr_bench4g_sql"
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
CUTOFF = dt.datetime(2026, 6, 5, 3, 30, tzinfo=TOKYO)
WINDOW_DAYS = 35

SINGLE_STATEMENT = """
WITH due AS (
    SELECT o.id, o.member_id, o.number, o.shipped_at, mk.time_zone,
           FLOOR(o.pv * (CASE WHEN o.months_subscribed >= 13 THEN 30 WHEN o.months_subscribed >= 10 THEN 25
                              WHEN o.months_subscribed >= 7 THEN 20 WHEN o.months_subscribed >= 4 THEN 15
                              WHEN o.months_subscribed >= 1 THEN 10 ELSE 0 END) / 100)::bigint AS points
    FROM subscriptions_subscriptionorder AS o
    JOIN subscriptions_member AS m ON m.id = o.member_id
    JOIN subscriptions_market AS mk ON mk.id = m.market_id
    WHERE o.status = 'shipped' AND o.shipped_at >= %(shipped_from)s AND o.shipped_at <= %(cutoff)s
), lots AS (
    INSERT INTO ssr_points_lot (member_id, order_id, amount, remaining, expired, granted_at, expires_at)
    SELECT member_id, id, points, points, 0, shipped_at,
           ((shipped_at AT TIME ZONE time_zone)::date + interval '12 months') AT TIME ZONE time_zone
    FROM due WHERE points > 0
    ON CONFLICT (member_id, order_id) DO NOTHING  -- one grant per order
    RETURNING id, member_id, order_id, amount
), entries AS (
    INSERT INTO ssr_points_entry
        (member_id, kind, points, created_at, reason, reference, idempotency_key, lot_id, order_id)
    SELECT lots.member_id, 'grant', lots.amount, now(), '定期購入 注文 ' || due.number || ' の出荷による付与',
           due.number, 'grant:order:' || due.id, lots.id, lots.order_id
    FROM lots JOIN due ON due.id = lots.order_id
), per_member AS (
    SELECT member_id, SUM(amount) AS points FROM lots GROUP BY member_id
), balances AS (
    UPDATE ssr_points_pointaccount AS account SET balance = account.balance + per_member.points, updated_at = now()
    FROM per_member WHERE account.member_id = per_member.member_id
)
SELECT (SELECT COUNT(*) FROM lots), (SELECT SUM(points) FROM per_member)
"""


def build(*, members: int, orders: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        members_build(cursor, members=members)
        cursor.execute(
            "INSERT INTO subscriptions_subscription (member_id, status, next_shipment_date, months_subscribed, "
            "created_at, updated_at) SELECT id, 'active', date '2026-07-01', 15, now(), now() "
            "FROM subscriptions_member ORDER BY id"
        )
        # Time-major, like real shipments: order k of every member, then order k + 1 …
        cursor.execute(
            "INSERT INTO subscriptions_subscriptionorder (member_id, subscription_id, number, status, "
            "shipment_date, months_subscribed, pv, total_incl_tax, created_at, shipped_at) "
            "SELECT s.member_id, s.id, 'SO-' || s.member_id || '-' || k, 'shipped', "
            "  date '2026-05-01' + (k * 3 + s.member_id %% 3)::int, 1 + (k + s.member_id) %% 15, "
            "  (60 + (s.member_id * k) %% 300)::numeric, 12300, now(), "
            "  timestamptz '2026-05-01 10:00+09' + make_interval(days => (k * 3 + s.member_id %% 3)::int, "
            "    hours => (s.member_id %% 14)::int) "
            "FROM generate_series(1, %s) AS k CROSS JOIN subscriptions_subscription AS s ORDER BY k, s.id",
            [orders],
        )
    connection.close()
    with psycopg.connect(database_url(JOB_DB), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def fetch(name: str, query: str, params=None) -> list[tuple]:
    with psycopg.connect(database_url(name)) as conn:
        return conn.execute(query, params).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10, help="shipped orders per member")
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()

    database_recreate(JOB_DB)
    django_setup(JOB_DB)
    from django.conf import settings
    from django.db import connection

    from jobs.services import grants_sweep
    from ssr_points.checks import ledger_check
    from ssr_points.models import Lot
    from ssr_points.services import lot_expires_at, order_points_to_grant
    from subscriptions.models import SubscriptionOrder

    with timed("build (generate_series)"):
        build(members=args.members, orders=args.orders)
    with timed("copy (CREATE DATABASE … TEMPLATE)"):
        database_clone(JOB_DB, SQL_DB)
    shipped_from = CUTOFF - dt.timedelta(days=WINDOW_DAYS)
    print(f"  {args.members:,} members, {args.members * args.orders:,} shipped orders without a grant")

    batch_size = args.batch_size or settings.SSR_POINTS_GRANT_BATCH_SIZE
    with timed("single statement"), psycopg.connect(database_url(SQL_DB)) as conn:
        started = time.monotonic()
        single = conn.execute(SINGLE_STATEMENT, {"cutoff": CUTOFF, "shipped_from": shipped_from}).fetchone()
        conn.commit()
        single_seconds = time.monotonic() - started
    with timed(f"grant sweep (batches of {batch_size:,} orders)"):
        started = time.monotonic()
        run = grants_sweep(now=CUTOFF, days=WINDOW_DAYS, batch_size=batch_size)
        job_seconds = time.monotonic() - started
    with timed("second sweep (nothing left to grant)"):
        started = time.monotonic()
        again = grants_sweep(now=CUTOFF, days=WINDOW_DAYS, batch_size=batch_size)
        again_seconds = time.monotonic() - started

    print("\nresults")
    print(f"  single statement: {single_seconds:8.2f} s  {single[0]:,} lots, {single[1]:,} points")
    print(f"  grant sweep:      {job_seconds:8.2f} s  {run.lots:,} lots, {run.points:,} points, {run.batches} batches")
    print(f"  ratio sweep / single statement: {job_seconds / single_seconds:.2f} (target ≤ 1.5)")
    print(f"  orders/s: sweep {run.items / job_seconds:,.0f}, single statement {single[0] / single_seconds:,.0f}")
    print(f"  longest batch transaction (locks held): {run.longest_batch_ms} ms (target < 1000 ms)")
    print(f"  the single statement held its locks for {single_seconds:.2f} s")
    print(f"  second sweep: {again.lots} lots in {again_seconds:.2f} s")

    with timed("verify"):
        assert run.status == "succeeded", run.error
        assert (run.lots, run.points) == (single[0], single[1]) == (args.members * args.orders, run.points)
        assert again.lots == 0
        balances = "SELECT member_id, balance, debt FROM ssr_points_pointaccount ORDER BY member_id"
        assert fetch(JOB_DB, balances) == fetch(SQL_DB, balances), "the two copies differ"
        lots = "SELECT order_id, member_id, amount, remaining, granted_at, expires_at FROM ssr_points_lot ORDER BY 1"
        assert fetch(JOB_DB, lots) == fetch(SQL_DB, lots), "the two copies' lots differ"
        sample = SubscriptionOrder.objects.select_related("member__market").order_by("?")[:1000]
        for order in sample:
            lot = Lot.objects.get(member_id=order.member_id, order=order)
            assert lot.amount == order_points_to_grant(order=order), order.number
            assert lot.expires_at == lot_expires_at(granted_at=order.shipped_at, zone=TOKYO), order.number
        violations = ledger_check(at=CUTOFF)
        assert violations == [], violations[:10]
        print("  invariants hold; 1,000 sampled grants equal the per-order service's; one grant per order")
    connection.close()


if __name__ == "__main__":
    main()
