"""Two runs of a job at once, on PostgreSQL: real threads, the real advisory lock."""

import threading

import pytest
from django.db import close_old_connections, connection

from jobs.models import JobRun
from jobs.services import expiry_run
from ssr_points.models import Entry, Lot
from tests.factories import MemberFactory
from tests.jobs.conftest import grant_points, tokyo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_expiry_runs_at_once_one_works_the_other_exits_saying_so(assert_ledger_ok):
    members = MemberFactory.create_batch(4)
    for m in members:
        grant_points(m, 10, at=tokyo(2025, 1, 5, 10))
        grant_points(m, 5, at=tokyo(2025, 1, 6, 10))
    first_batch_done = threading.Event()
    second_run_over = threading.Event()
    results = {}

    def hold_after_first_batch(batch):
        first_batch_done.set()
        assert second_run_over.wait(timeout=30)

    def first():
        try:
            results["first"] = expiry_run(now=tokyo(2026, 1, 6, 0, 5), batch_size=2, progress=hold_after_first_batch)
        except Exception as error:
            results["first"] = error
        finally:
            connection.close()
            close_old_connections()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert first_batch_done.wait(timeout=30)
        results["second"] = expiry_run(now=tokyo(2026, 1, 6, 0, 5))
    finally:
        second_run_over.set()
        thread.join(timeout=60)
    assert results["second"].status == JobRun.Status.SKIPPED
    assert "in progress" in results["second"].error
    assert results["first"].status == JobRun.Status.SUCCEEDED
    assert (results["first"].lots, results["first"].points) == (8, 60)
    assert Entry.objects.filter(kind=Entry.Kind.EXPIRY).count() == 8
    assert not Lot.objects.filter(remaining__gt=0).exists()
    # The lock is released when a run ends: the next night's run works again.
    assert expiry_run(now=tokyo(2026, 1, 7, 0, 5)).status == JobRun.Status.SUCCEEDED
    assert_ledger_ok()


def test_an_expiry_batch_and_redemptions_racing_on_the_same_members_lose_nothing(assert_ledger_ok):
    from ssr_points.services import points_redeem

    members = MemberFactory.create_batch(6)
    for m in members:
        grant_points(m, 10, at=tokyo(2025, 1, 5, 10))  # due at 2026-01-05
        grant_points(m, 30, at=tokyo(2025, 6, 1, 10))  # spendable until 2026-06-01
    barrier = threading.Barrier(len(members) + 1)
    errors = []

    def redeem(member):
        try:
            barrier.wait()
            points_redeem(member=member, points=25, reference="EX", reason="交換", now=tokyo(2026, 1, 6, 0, 5))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    barrier.wait()
    run = expiry_run(now=tokyo(2026, 1, 6, 0, 5), batch_size=2)
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert (run.lots, run.points) == (6, 60)
    assert_ledger_ok(at=tokyo(2026, 1, 6, 0, 5))
