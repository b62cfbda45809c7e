"""What the benchmarks share: scratch PostgreSQL databases, Django pointed at one of them,
and the bulk-built members (SQL with generate_series, no Python loop per row)."""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")


def database_url(name: str) -> str:
    return f"{SERVER}/{name}"


def admin_execute(*statements: str) -> None:
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def database_recreate(name: str) -> None:
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def database_clone(template: str, name: str) -> None:
    """An identical copy (CREATE DATABASE … TEMPLATE): nobody may be connected to the template."""
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def django_setup(name: str) -> None:
    """Point Django at database ``name`` (no pool: one connection, like a Celery worker)."""
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ["DATABASE_POOL"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextmanager
def timed(label: str, results: dict | None = None):
    started = time.monotonic()
    print(f"… {label}", flush=True)
    yield
    seconds = time.monotonic() - started
    if results is not None:
        results[label] = seconds
    print(f"  {label}: {seconds:.1f} s", flush=True)


def members_build(cursor, *, members: int) -> int:
    """``members`` card-paying Japan members with logins and empty point accounts; returns the market id."""
    cursor.execute(
        "INSERT INTO subscriptions_market (code, name, currency, time_zone, reduced_tax_rate, standard_tax_rate, "
        "exchange_fee_per_100_points, handling_fee_incl_tax, free_handling_threshold_incl_tax, earn_rate_schedule, "
        "point_value, cx_phone, cx_email) VALUES ('JP', '日本', 'JPY', 'Asia/Tokyo', 8, 10, 1400, 1100, 12000, "
        "'[[1, 10], [4, 15], [7, 20], [10, 25], [13, 30]]', 100, '', '') RETURNING id"
    )
    market_id = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined) SELECT '!', false, (200000 + g)::text, '', '', 'm' || g || '@bench.example', "
        "false, true, now() FROM generate_series(1, %s) AS g",
        [members],
    )
    cursor.execute(
        "INSERT INTO subscriptions_member (user_id, member_number, market_id, name, name_kana, phone, "
        "payment_method, joined_at) SELECT id, username, %s, '会員 ' || username, '', '', 'card', now() "
        "FROM auth_user ORDER BY id",
        [market_id],
    )
    cursor.execute(
        "INSERT INTO ssr_points_pointaccount (member_id, balance, debt, updated_at) "
        "SELECT id, 0, 0, now() FROM subscriptions_member ORDER BY id"
    )
    return market_id
