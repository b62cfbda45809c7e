"""How the app talks to PostgreSQL (config/settings.py, docs/performance.md)."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from ssr_points.selectors import points_spendable


@pytest.mark.postgres
def test_a_query_run_often_becomes_a_prepared_statement(member):
    """Server-side binding plus psycopg's prepare threshold: from the 6th run on, PostgreSQL
    runs the member's balance query without parsing and planning it again."""

    def prepared() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0] for row in cursor.fetchall()}

    assert connection.connection.prepare_threshold == 5
    before = prepared()
    for _ in range(6):
        points_spendable(member=member)
    new = prepared() - before
    assert any('FROM "ssr_points_lot"' in statement and "$1" in statement for statement in new), new


@pytest.mark.parametrize(("value", "expected"), [(None, "5"), ("", "None"), ("3", "3")])
def test_preparing_can_be_turned_off_for_a_pooler(value, expected):
    """DATABASE_PREPARE_THRESHOLD= (empty) is the switch docs/scaling.md gives for PgBouncer."""
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DATABASE_PREPARE_THRESHOLD", None)
    if value is not None:
        env["DATABASE_PREPARE_THRESHOLD"] = value
    code = "import django; django.setup(); from django.conf import settings; "
    code += "print(settings.DATABASES['default']['OPTIONS']['prepare_threshold'])"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip().splitlines()[-1] == expected
