"""Benchmark: the nightly expiry job against the hand-written single SQL statement.

Builds on PostgreSQL (database ``ssr_bench4``, recreated; ``--database`` names another)
100,000 members with 1,000,000 due lots and 500,000 not yet due, with their grant entries and
balances; copies it (``CREATE DATABASE … TEMPLATE``); runs the expiry job
(``jobs.services.expiry_run``) on one and the single statement (``UPDATE … RETURNING`` feeding
the entry insert and the balance update) on the other; prints both times, the ratio, lots/s
and the longest batch transaction; checks the ledger invariants and that both copies end
identical.

What the ledger's indexes cost: the same single statement also runs on two more copies of the
same data, one without the foreign keys of ``ssr_points_entry`` and ``ssr_points_lot``, one
without those foreign keys and every secondary index of the two tables (primary keys and
CHECK constraints stay); the differences are the price of the foreign keys and of the
indexes, per index and per lot.

    .venv/bin/python -m bench.expiry [--members 100000] [--due 10] [--not-due 5] [--batch-size 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import zoneinfo

import psycopg

from bench.database import database_clone, database_recreate, database_url, django_setup, members_build, timed

LEDGER_TABLES = ("ssr_points_entry", "ssr_points_lot")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
CUTOFF = dt.datetime(2026, 6, 1, 0, 5, tzinfo=TOKYO)

# The hand-written single statement: every due lot, at once.
SINGLE_STATEMENT = """
WITH emptied AS (
    UPDATE ssr_points_lot AS lot SET expired = lot.expired + lot.remaining, remaining = 0
    FROM (SELECT id, remaining FROM ssr_points_lot WHERE remaining > 0 AND expires_at <= %(cutoff)s) AS due
    WHERE lot.id = due.id
    RETURNING lot.id, lot.member_id, due.remaining
), entries AS (
    INSERT INTO ssr_points_entry (member_id, kind, points, created_at, reason, reference, lot_id)
    SELECT member_id, 'expiry', -remaining, now(), '有効期限切れ', '', id FROM emptied
), per_member AS (
    SELECT member_id, SUM(remaining) AS points FROM emptied GROUP BY member_id
), balances AS (
    UPDATE ssr_points_pointaccount AS account SET balance = account.balance - per_member.points, updated_at = now()
    FROM per_member WHERE account.member_id = per_member.member_id
)
SELECT (SELECT COUNT(*) FROM emptied), (SELECT SUM(points) FROM per_member), (SELECT COUNT(*) FROM per_member)
"""


def build(*, database: str, members: int, due: int, not_due: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        members_build(cursor, members=members)
        # Time-major, like real grants: a member's lots are spread over the table.
        cursor.execute(
            "INSERT INTO ssr_points_lot (member_id, amount, remaining, expired, granted_at, expires_at) "
            "SELECT m.id, x.amount, x.amount, 0, x.granted_at, x.granted_at + interval '1 year' "
            "FROM generate_series(1, %s) AS k CROSS JOIN subscriptions_member AS m, "
            "LATERAL (SELECT 10 + (m.id * 7 + k * 13) %% 90 AS amount, "
            "  CASE WHEN k <= %s "
            "  THEN timestamptz '2024-12-01 00:00+09' + make_interval(days => (k * 17 + m.id %% 9)::int) "
            "  ELSE timestamptz '2025-07-01 00:00+09' + make_interval(days => (k * 9 + m.id %% 9)::int) END "
            "  AS granted_at) AS x ORDER BY k, m.id",
            [due + not_due, due],
        )
        cursor.execute(
            "INSERT INTO ssr_points_entry (member_id, kind, points, created_at, reason, reference, lot_id) "
            "SELECT member_id, 'grant', amount, granted_at, 'bench grant', '', id FROM ssr_points_lot ORDER BY id"
        )
        cursor.execute(
            "UPDATE ssr_points_pointaccount AS a SET balance = s.points FROM "
            "(SELECT member_id, SUM(remaining) AS points FROM ssr_points_lot GROUP BY member_id) AS s "
            "WHERE a.member_id = s.member_id"
        )
    connection.close()
    with psycopg.connect(database_url(database), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def schema_strip(name: str, *, indexes: bool) -> tuple[list[str], list[str]]:
    """Drop the foreign keys (and with ``indexes`` the secondary indexes, unique ones included) of
    the ledger's two written tables in database ``name``; returns what was dropped."""
    with psycopg.connect(database_url(name), autocommit=True) as conn:
        fks = conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
            [list(LEDGER_TABLES)],
        ).fetchall()
        for table, constraint in fks:
            conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
        dropped = []
        if indexes:
            rows = conn.execute(
                "SELECT i.indrelid::regclass::text, c.relname, con.conname FROM pg_index AS i "
                "JOIN pg_class AS c ON c.oid = i.indexrelid "
                "LEFT JOIN pg_constraint AS con ON con.conindid = i.indexrelid AND con.contype = 'u' "
                "WHERE NOT i.indisprimary AND i.indrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
                [list(LEDGER_TABLES)],
            ).fetchall()
            for table, index, constraint in rows:
                if constraint:
                    conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
                else:
                    conn.execute(f'DROP INDEX "{index}"')
                dropped.append(f"{table.removeprefix('ssr_points_')}.{index}")
        conn.execute("VACUUM ANALYZE")
    return [f"{table.removeprefix('ssr_points_')}.{constraint}" for table, constraint in fks], dropped


def single_statement_run(name: str) -> tuple[tuple, float]:
    with psycopg.connect(database_url(name)) as conn:
        started = time.monotonic()
        row = conn.execute(SINGLE_STATEMENT, {"cutoff": CUTOFF}).fetchone()
        conn.commit()
        return row, time.monotonic() - started


def fetch(name: str, query: str) -> list[tuple]:
    with psycopg.connect(database_url(name)) as conn:
        return conn.execute(query).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10, help="due lots per member")
    parser.add_argument("--not-due", type=int, default=5, help="lots per member not yet due")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--database", default="ssr_bench4", help="recreated, and its copies <name>_sql, _nofk, _bare")
    args = parser.parse_args()
    results: dict[str, float] = {}
    job_db, sql_db = args.database, f"{args.database}_sql"
    nofk_db, bare_db = f"{args.database}_nofk", f"{args.database}_bare"

    database_recreate(job_db)
    django_setup(job_db)
    from django.conf import settings
    from django.db import connection

    from jobs.services import expiry_run
    from ssr_points.checks import ledger_check

    with timed("build (generate_series)", results):
        build(database=job_db, members=args.members, due=args.due, not_due=args.not_due)
    with timed("copies (CREATE DATABASE … TEMPLATE), foreign keys and indexes dropped from two", results):
        for copy in (sql_db, nofk_db, bare_db):
            database_clone(job_db, copy)
        fks, _ = schema_strip(nofk_db, indexes=False)
        _, indexes = schema_strip(bare_db, indexes=True)
    due_lots = fetch(job_db, f"SELECT COUNT(*) FROM ssr_points_lot WHERE remaining > 0 AND expires_at <= '{CUTOFF}'")[
        0
    ][0]
    print(f"  {args.members:,} members, {due_lots:,} due lots, {args.members * args.not_due:,} not yet due")

    batch_size = args.batch_size or settings.SSR_POINTS_EXPIRY_BATCH_SIZE
    with timed("single statement, without foreign keys and secondary indexes", results):
        bare, bare_seconds = single_statement_run(bare_db)
    with timed("single statement, without foreign keys", results):
        nofk, nofk_seconds = single_statement_run(nofk_db)
    with timed("single statement", results):
        single, single_seconds = single_statement_run(sql_db)
    with timed(f"expiry job (batches of {batch_size:,} lots)", results):
        started = time.monotonic()
        run = expiry_run(now=CUTOFF, batch_size=batch_size)
        job_seconds = time.monotonic() - started
    connection.close()

    print("\nresults")
    print(f"  single statement: {single_seconds:8.2f} s  {single[0]:,} lots, {single[1]:,} points")
    print(f"  expiry job:       {job_seconds:8.2f} s  {run.lots:,} lots, {run.points:,} points, {run.batches} batches")
    print(f"  ratio job / single statement: {job_seconds / single_seconds:.2f} (target ≤ 1.5)")
    print(f"  lots/s: job {run.lots / job_seconds:,.0f}, single statement {single[0] / single_seconds:,.0f}")
    print(f"  longest batch transaction (locks held): {run.longest_batch_ms} ms (target < 1000 ms)")
    print(f"  the single statement held its locks for {single_seconds:.2f} s")

    expired_lots = single[0]
    print("\nwhat the ledger's indexes and foreign keys cost (the single statement, same data)")
    for label, seconds in [
        ("project's schema:", single_seconds),
        (f"without the {len(fks)} foreign keys:", nofk_seconds),
        (f"… and without the {len(indexes)} secondary indexes:", bare_seconds),
    ]:
        print(f"  {label:40} {seconds:8.2f} s  {expired_lots / seconds:9,.0f} lots/s")
    fk_price, index_price = single_seconds - nofk_seconds, nofk_seconds - bare_seconds
    print(
        f"  foreign keys: {fk_price:+.2f} s = {fk_price / expired_lots * 1e6:+.1f} µs per lot "
        f"({fk_price / single_seconds:+.0%} of the statement): {', '.join(fks)}"
    )
    if indexes:
        per_index = index_price / len(indexes)
        print(
            f"  secondary indexes: {index_price:+.2f} s = {index_price / expired_lots * 1e6:+.1f} µs per lot "
            f"({index_price / single_seconds:+.0%}); per index {per_index:+.2f} s = "
            f"{per_index / expired_lots * 1e6:+.1f} µs per lot: {', '.join(indexes)}"
        )
    assert single[:2] == nofk[:2] == bare[:2], (single, nofk, bare)

    with timed("verify"):
        assert run.status == "succeeded", run.error
        assert (run.lots, run.points) == (single[0], single[1]) == (due_lots, run.points)
        balances = "SELECT member_id, balance, debt FROM ssr_points_pointaccount ORDER BY member_id"
        assert fetch(job_db, balances) == fetch(sql_db, balances), "the two copies differ"
        lots = "SELECT id, remaining, expired FROM ssr_points_lot ORDER BY id"
        assert fetch(job_db, lots) == fetch(sql_db, lots), "the two copies' lots differ"
        per_lot = "SELECT COUNT(*), COUNT(DISTINCT lot_id) FROM ssr_points_entry WHERE kind = 'expiry'"
        assert fetch(job_db, per_lot) == [(due_lots, due_lots)], "a lot expired twice or was missed"
        left = f"SELECT COUNT(*) FROM ssr_points_lot WHERE remaining > 0 AND expires_at <= '{CUTOFF}'"
        assert fetch(job_db, left) == [(0,)]
        violations = ledger_check(at=CUTOFF)
        assert violations == [], violations[:10]
        print("  invariants hold: balance = Σ entries = Σ lots for every member; each due lot expired once")


if __name__ == "__main__":
    main()
