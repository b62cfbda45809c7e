"""The admin lists of large tables count an unfiltered list from PostgreSQL's statistics."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice.admin.base import EstimatedCountPaginator
from subscriptions.models import Member
from tests.factories import MemberFactory


def counted(queryset, *, estimate_above):
    paginator = EstimatedCountPaginator(queryset, 20)
    paginator.estimate_above = estimate_above
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    return count, " ".join(query["sql"] for query in queries.captured_queries)


@pytest.mark.postgres
def test_an_unfiltered_large_table_is_counted_from_the_statistics(db):
    MemberFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE subscriptions_member")  # small tables: the estimate is exact
    count, sql = counted(Member.objects.order_by("-pk"), estimate_above=3)
    assert count == 3 and "pg_class" in sql and "COUNT(" not in sql
    count, sql = counted(Member.objects.order_by("-pk"), estimate_above=4)  # below the size: counted
    assert count == 3 and "COUNT(" in sql


@pytest.mark.postgres
def test_a_searched_or_filtered_list_is_counted_exactly(db):
    members = MemberFactory.create_batch(3)
    count, sql = counted(Member.objects.filter(member_number=members[0].member_number).order_by("pk"), estimate_above=0)
    assert count == 1 and "COUNT(" in sql and "pg_class" not in sql


def test_other_databases_count_exactly(db, is_postgres):
    if is_postgres:
        pytest.skip("SQLite has no row estimate; PostgreSQL is tested above")
    MemberFactory.create_batch(2)
    count, sql = counted(Member.objects.order_by("pk"), estimate_above=0)
    assert count == 2 and "COUNT(" in sql


def test_the_member_list_shows_the_count(client, make_staff, db):
    MemberFactory.create_batch(2)
    client.force_login(make_staff("cx_agent"))
    response = client.get(reverse("admin:subscriptions_member_changelist"))
    assert response.status_code == 200 and response.context["cl"].result_count == 2
