"""The whole-ledger check as a job: every member in chunks, violations counted and kept,
one snapshot per chunk so a live database shows no violation that is not there."""

import threading

import pytest
from django.db import connection

from jobs.models import JobRun
from jobs.tasks import check_ledger_task
from ssr_points.checks import ledger_check
from ssr_points.models import Lot
from ssr_points.services import points_adjust
from tests.factories import MemberFactory, StaffUserFactory


def test_the_task_checks_every_member_in_chunks_and_records_the_violations(db, settings):
    members = MemberFactory.create_batch(5)
    staff = StaffUserFactory()
    for member in members:
        points_adjust(member=member, points=100, reason="テスト", staff_user=staff)
    Lot.objects.filter(member=members[3]).update(remaining=90)  # a deliberate violation
    summary = check_ledger_task.delay().get()
    run = JobRun.objects.get(pk=summary["run"])
    assert (summary["status"], summary["members"], summary["items"]) == ("succeeded", 5, 2)
    assert (run.kind, run.batches, run.finished_at is not None) == (JobRun.Kind.LEDGER_CHECK, 1, True)
    assert {(f["member_number"], f["rule"], f["expected"], f["actual"]) for f in run.findings} == {
        (members[3].member_number, "balance = Σ lot.remaining − debt", 90, 100),
        (members[3].member_number, "lot.remaining = amount − Σ allocations − expired", 100, 90),
    }


def test_the_run_walks_the_members_in_chunks(db):
    MemberFactory.create_batch(5)
    from jobs.services import ledger_check_run

    run = ledger_check_run(chunk_size=2)
    assert (run.status, run.members, run.batches, run.items) == (JobRun.Status.SUCCEEDED, 5, 3, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_write_committed_while_a_chunk_is_read_is_not_reported_as_a_violation(assert_ledger_ok):
    member = MemberFactory()
    staff = StaffUserFactory()
    points_adjust(member=member, points=100, reason="テスト", staff_user=staff)
    committed = threading.Event()

    def adjust_from_another_connection():
        try:
            points_adjust(member=member, points=5, reason="同時の調整", staff_user=staff)
            committed.set()
        finally:
            connection.close()

    def commit_an_adjustment_after_the_accounts_are_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not committed.is_set() and "ssr_points_pointaccount" in sql:
            thread = threading.Thread(target=adjust_from_another_connection)
            thread.start()
            thread.join(timeout=30)
        return result

    with connection.execute_wrapper(commit_an_adjustment_after_the_accounts_are_read):
        violations = ledger_check(member_ids=[member.pk])
    assert committed.is_set()
    assert violations == []  # read apart, the balance (100) and the entries (105) would disagree
    assert_ledger_ok()
