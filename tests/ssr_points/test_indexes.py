"""The ledger's indexes are exactly those docs/ledger.md lists, each with the query it serves.

Every index is paid for on each entry the nightly expiry inserts and each lot it empties; an
index a new ForeignKey brings along (Django indexes foreign keys by default) must be wanted.
"""

import re
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import ProtectedError

from ssr_points.services import points_adjust, points_redeem, points_reverse

LEDGER_DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"


def documented_indexes() -> dict[str, set[str]]:
    section = LEDGER_DOC.read_text().split("## Indexes", 1)[1].split("\n## ", 1)[0]
    indexes: dict[str, set[str]] = {}
    for table, name in re.findall(r"^\| (entry|lot|allocation) \| `(\w+)`", section, flags=re.MULTILINE):
        indexes.setdefault(table, set()).add(name)
    return indexes


@pytest.mark.postgres
def test_entry_and_lot_have_exactly_the_documented_indexes(db):
    documented = documented_indexes()
    with connection.cursor() as cursor:
        for table in ("entry", "lot"):
            cursor.execute(
                "SELECT c.relname FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
                [f"ssr_points_{table}"],
            )
            assert {row[0] for row in cursor.fetchall()} == documented[table], table


@pytest.mark.postgres
def test_the_ledger_keeps_the_foreign_keys_that_matter(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, a.attname FROM pg_constraint AS c "
            "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND conrelid::regclass::text LIKE 'ssr_points_%%'"
        )
        checked = set(cursor.fetchall())
    assert checked == {
        ("ssr_points_entry", "member_id"),
        ("ssr_points_entry", "lot_id"),
        ("ssr_points_lot", "member_id"),
        ("ssr_points_lot", "order_id"),
        ("ssr_points_allocation", "member_id"),
        ("ssr_points_allocation", "entry_id"),
        ("ssr_points_allocation", "lot_id"),
        ("ssr_points_pointaccount", "member_id"),
    }


def test_a_staff_user_an_entry_names_cannot_be_deleted(member, staff_user):
    """entry.staff_user is not a database foreign key; Django's PROTECT (through the partial index
    entry_staff_user_idx) still refuses the deletion, and the entry keeps its author."""
    entry = points_adjust(member=member, points=10, reason="お詫び", staff_user=staff_user)
    with pytest.raises(ProtectedError):
        staff_user.delete()
    entry.refresh_from_db()
    assert entry.staff_user_id == staff_user.pk


def test_an_entry_that_another_reverses_cannot_be_deleted(member, staff_user):
    points_adjust(member=member, points=100, reason="付与", staff_user=staff_user)
    redemption = points_redeem(member=member, points=30, reference="EX-TEST0001", reason="交換")
    reversal = points_reverse(entry=redemption, reason="取消")
    with pytest.raises(ProtectedError):
        redemption.delete()
    assert reversal.reverses_id == redemption.pk
