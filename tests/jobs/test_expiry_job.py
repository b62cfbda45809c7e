"""The nightly expiry job: cutoff "now", catch-up after missed nights, one run at a time, crash-safe."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from jobs.models import JobRun
from jobs.services import expiry_run
from ssr_points.models import Entry, Lot, PointAccount
from tests.factories import JobRunFactory, MemberFactory
from tests.jobs.conftest import tokyo


def expiry_entries_per_lot():
    return dict(
        Entry.objects.filter(kind=Entry.Kind.EXPIRY).values("lot_id").annotate(n=Count("id")).values_list("lot_id", "n")
    )


def test_a_lot_expiring_exactly_at_the_cutoff_instant_is_expired_one_microsecond_earlier_it_is_not(
    member, grant, assert_ledger_ok
):
    lot = grant(member, 20, at=tokyo(2025, 3, 1, 10))  # expires 2026-03-01 00:00 Tokyo
    assert lot.expires_at == tokyo(2026, 3, 1)
    early = expiry_run(now=tokyo(2026, 3, 1) - dt.timedelta(microseconds=1))
    assert (early.status, early.lots) == (JobRun.Status.SUCCEEDED, 0)
    run = expiry_run(now=tokyo(2026, 3, 1))
    assert (run.status, run.lots, run.points, run.members) == (JobRun.Status.SUCCEEDED, 1, 20, 1)
    lot.refresh_from_db()
    assert (lot.remaining, lot.expired) == (0, 20)
    assert_ledger_ok(at=tokyo(2026, 3, 1))


def test_three_consecutive_nights_after_two_missed_ones_expire_every_lot_once(db, grant, assert_ledger_ok):
    members = MemberFactory.create_batch(3)
    lots = {}
    for night in range(1, 7):  # lots expiring at 00:00 on 1 … 6 March 2026
        for m in members:
            lots[(night, m.pk)] = grant(m, night, at=tokyo(2025, 3, night, 12))
    # Nights of 1 and 2 March were missed; the job runs at 00:05 on 3, 4 and 5 March.
    first = expiry_run(now=tokyo(2026, 3, 3, 0, 5))
    assert (first.lots, first.points) == (9, 3 * (1 + 2 + 3))
    second = expiry_run(now=tokyo(2026, 3, 4, 0, 5))
    assert (second.lots, second.points) == (3, 3 * 4)
    third = expiry_run(now=tokyo(2026, 3, 5, 0, 5))
    assert (third.lots, third.points) == (3, 3 * 5)
    per_lot = expiry_entries_per_lot()
    for (night, _), lot in lots.items():
        lot.refresh_from_db()
        if night <= 5:
            assert (lot.remaining, lot.expired, per_lot[lot.pk]) == (0, night, 1)
        else:
            assert (lot.remaining, lot.expired) == (6, 0) and lot.pk not in per_lot
    assert all(PointAccount.objects.get(member=m).balance == 6 for m in members)
    assert_ledger_ok(at=tokyo(2026, 3, 5, 0, 5))


def test_a_run_killed_between_batches_then_rerun_expires_nothing_twice_and_misses_nothing(db, grant, assert_ledger_ok):
    members = MemberFactory.create_batch(6)
    for m in members:
        grant(m, 10, at=tokyo(2025, 1, 5, 10))
        grant(m, 7, at=tokyo(2025, 1, 6, 10))

    class Killed(Exception):
        pass

    def kill_after_first_batch(batch):
        raise Killed()

    with pytest.raises(Killed):
        expiry_run(now=tokyo(2026, 1, 6, 0, 5), batch_size=4, progress=kill_after_first_batch)
    failed = JobRun.objects.get()
    assert failed.status == JobRun.Status.FAILED and "Killed" in failed.error
    assert failed.batches == 1 and 0 < failed.lots < 12  # the first batch committed
    rerun = expiry_run(now=tokyo(2026, 1, 6, 0, 5), batch_size=4)
    assert rerun.status == JobRun.Status.SUCCEEDED
    assert failed.lots + rerun.lots == 12
    assert failed.points + rerun.points == 6 * 17
    assert set(expiry_entries_per_lot().values()) == {1}
    assert Lot.objects.filter(remaining__gt=0).count() == 0
    assert_ledger_ok()


def test_a_run_whose_process_died_is_marked_interrupted_and_the_next_run_finishes_the_work(
    db, grant, assert_ledger_ok, settings
):
    member = MemberFactory()
    grant(member, 10, at=tokyo(2025, 1, 5, 10))
    # A worker killed with SIGKILL leaves its row "running"; on PostgreSQL its advisory lock
    # died with its connection, on SQLite the row counts as crashed once older than the limit.
    dead = JobRunFactory(started_at=tokyo(2026, 1, 6, 0, 5), cutoff=tokyo(2026, 1, 6, 0, 5))
    run = expiry_run(now=tokyo(2026, 1, 6, 4, 0))
    dead.refresh_from_db()
    assert dead.status == JobRun.Status.INTERRUPTED and dead.finished_at is not None
    assert (run.status, run.lots) == (JobRun.Status.SUCCEEDED, 1)
    assert_ledger_ok()


def test_on_sqlite_a_second_run_while_one_is_running_exits_saying_so(member, grant, capsys):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's lock is the running row; PostgreSQL's is tested with threads in test_concurrency.py")
    grant(member, 10, at=tokyo(2025, 1, 5, 10))
    JobRunFactory()  # a live run, started just now
    run = expiry_run(now=tokyo(2026, 1, 6, 0, 5))
    assert run.status == JobRun.Status.SKIPPED and "in progress" in run.error
    assert Entry.objects.filter(kind=Entry.Kind.EXPIRY).count() == 0
    call_command("expire_points", "--now", "2026-01-06T00:05:00+09:00", verbosity=0)
    assert "in progress" in capsys.readouterr().out


def test_the_command_takes_now_and_prints_the_run(member, grant, capsys, assert_ledger_ok):
    grant(member, 10, at=tokyo(2025, 1, 5, 10))
    call_command("expire_points", "--now", "2026-01-06T00:05:00+09:00", "--batch-size", "100")
    out = capsys.readouterr().out
    assert "lots 1, points 10, members 1" in out
    run = JobRun.objects.get()
    assert (run.kind, run.cutoff, run.status) == (JobRun.Kind.EXPIRY, tokyo(2026, 1, 6, 0, 5), JobRun.Status.SUCCEEDED)
    call_command("expire_points", "--now", "2026-01-06T00:06", verbosity=0)  # naive = Tokyo time; rerun: nothing
    assert JobRun.objects.order_by("-pk").first().lots == 0
    assert_ledger_ok()


def test_the_command_refuses_a_malformed_now(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO"):
        call_command("expire_points", "--now", "yesterday")


def test_staff_see_job_runs_read_only_in_admin(admin_client, member, grant):
    grant(member, 10, at=tokyo(2025, 1, 5, 10))
    run = expiry_run(now=tokyo(2026, 1, 6, 0, 5))
    assert admin_client.get("/admin/jobs/jobrun/").status_code == 200
    assert admin_client.get(f"/admin/jobs/jobrun/{run.pk}/change/").status_code == 200
    assert admin_client.get("/admin/jobs/jobrun/add/").status_code == 403
    assert admin_client.get("/admin/jobs/expiryreminder/?q=1000").status_code == 200


def test_batches_start_small_shrink_after_one_held_its_locks_too_long_and_grow_back(settings):
    from ssr_points.batches import batch_size_first, batch_size_next

    settings.SSR_POINTS_BATCH_LOCK_TARGET_SECONDS = 0.5
    assert (batch_size_first(10_000), batch_size_first(300)) == (1_000, 300)  # a cold start is small
    assert batch_size_next(10_000, rows=10_000, seconds=1.0, most=10_000) == 5_000
    assert batch_size_next(5_000, rows=5_000, seconds=0.1, most=10_000) == 7_500
    assert batch_size_next(7_500, rows=7_500, seconds=0.1, most=10_000) == 10_000
    assert batch_size_next(8_000, rows=8_000, seconds=0.4, most=10_000) == 8_000
    assert batch_size_next(200, rows=200, seconds=30.0, most=10_000) == 100


def test_staff_see_the_jobs_in_japanese():
    from django.utils import translation

    from order_events.models import OrderEvent

    with translation.override("ja"):
        assert str(JobRun._meta.verbose_name_plural) == "ジョブ実行"
        assert str(JobRun.Status.SKIPPED.label) == "スキップ（別の実行が進行中）"
        assert str(OrderEvent._meta.verbose_name) == "注文イベント"
