"""How the app talks to PostgreSQL (config/settings.py, docs/performance.md)."""

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
