"""Ops see what a dead worker left: the grants' outbox (fulfilment.PendingGrant) read-only in
Japanese, and in the job runs the heartbeat and the runs closed as interrupted (docs/jobs.md)."""

import datetime as dt
import zoneinfo

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from backoffice.admin.fulfilment import next_sweep_at
from fulfilment.models import PendingGrant
from jobs.models import JobRun
from tests.factories import OrderFactory

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def test_the_next_sweep_is_the_next_tick_of_the_schedule_after_the_row_is_due():
    now = dt.datetime(2026, 11, 28, 10, 0, tzinfo=TOKYO)
    with override_settings(JOBS_GRANT_SWEEP_MINUTES=5):
        assert next_sweep_at(due_at=now + dt.timedelta(minutes=3, seconds=20), now=now) == now.replace(minute=5)
        assert next_sweep_at(due_at=now.replace(minute=5), now=now) == now.replace(minute=5)
        assert next_sweep_at(due_at=now - dt.timedelta(hours=2), now=now.replace(minute=1)) == now.replace(minute=5)


def test_ops_see_the_grants_outbox_with_its_state_in_japanese_read_only(client, make_staff, db):
    now = timezone.now()
    stuck = OrderFactory()
    fresh = OrderFactory()
    PendingGrant.objects.create(member=stuck.member, order=stuck, created_at=now - dt.timedelta(minutes=30))
    PendingGrant.objects.create(member=fresh.member, order=fresh, created_at=now)
    # A sweep ran after the old row was due, and it is still owed: something is wrong.
    JobRun.objects.create(
        kind=JobRun.Kind.GRANTS,
        status=JobRun.Status.FAILED,
        cutoff=now - dt.timedelta(minutes=10),
        started_at=now - dt.timedelta(minutes=10),
        finished_at=now - dt.timedelta(minutes=10),
    )
    client.force_login(make_staff("ops"))
    url = reverse("admin:fulfilment_pendinggrant_changelist")
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    rows = {row.order_id: row for row in page.context["cl"].result_list}
    assert (rows[stuck.pk].sweeps, rows[fresh.pk].sweeps) == (1, 0)
    assert stuck.number in body and stuck.member.member_number in body
    assert "一括付与の後も未付与です" in body  # the stuck one
    assert "付与タスクの処理待ち" in body  # the one just shipped
    assert "次の付与の試行" in body and "対象になってからの一括付与の回数" in body
    assert client.get(url, {"q": fresh.number}).context["cl"].result_list[0].order_id == fresh.pk

    pending = PendingGrant.objects.get(order=stuck)
    change = reverse("admin:fulfilment_pendinggrant_change", args=[pending.pk])
    detail = client.get(change)
    assert detail.status_code == 200 and detail.context["has_change_permission"] is False
    assert client.post(change, {}).status_code == 403
    assert client.get(reverse("admin:fulfilment_pendinggrant_add")).status_code == 403
    assert (
        client.post(reverse("admin:fulfilment_pendinggrant_delete", args=[pending.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert PendingGrant.objects.count() == 2

    client.force_login(make_staff("cx_agent"))
    assert client.get(url).status_code == 403


def test_the_job_runs_show_the_heartbeat_and_the_runs_a_dead_worker_left(client, make_staff, db):
    now = timezone.now()
    dead = JobRun.objects.create(
        kind=JobRun.Kind.EXPIRY,
        status=JobRun.Status.INTERRUPTED,
        cutoff=now - dt.timedelta(hours=2),
        started_at=now - dt.timedelta(hours=2),
        heartbeat_at=now - dt.timedelta(hours=2) + dt.timedelta(seconds=30),
        finished_at=now - dt.timedelta(hours=1),
    )
    closer = JobRun.objects.create(
        kind=JobRun.Kind.EXPIRY,
        status=JobRun.Status.SUCCEEDED,
        cutoff=dead.finished_at,
        started_at=dead.finished_at,
        heartbeat_at=dead.finished_at,
        finished_at=dead.finished_at + dt.timedelta(minutes=1),
    )
    silent = JobRun.objects.create(
        kind=JobRun.Kind.REMINDERS,
        cutoff=now - dt.timedelta(minutes=20),
        started_at=now - dt.timedelta(minutes=20),
        heartbeat_at=now - dt.timedelta(minutes=15),
    )
    beating = JobRun.objects.create(
        kind=JobRun.Kind.SUBSCRIPTIONS, cutoff=now, started_at=now - dt.timedelta(minutes=5), heartbeat_at=now
    )
    client.force_login(make_staff("ops"))
    url = reverse("admin:jobs_jobrun_changelist")
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert "最終生存確認" in body  # the heartbeat column
    runs = {run.pk: run for run in page.context["cl"].result_list}
    assert runs[dead.pk].closed_by == closer.pk and runs[closer.pk].closed_run == dead.pk
    assert "停止したプロセスが残した実行。中断として終了させた実行：" in body
    assert f'{reverse("admin:jobs_jobrun_change", args=[closer.pk])}">#{closer.pk}</a>' in body
    assert "停止したプロセスが残した実行を終了させて引き継ぎました" in body
    assert "生存確認がありません" in body and "実行中（生存確認あり）" in body

    assert [run.pk for run in client.get(url, {"stale": "running"}).context["cl"].result_list] == [silent.pk]
    assert [run.pk for run in client.get(url, {"stale": "closed"}).context["cl"].result_list] == [dead.pk]
    assert beating.pk in runs

    detail = client.get(reverse("admin:jobs_jobrun_change", args=[dead.pk])).content.decode()
    assert "最終生存確認" in detail and f"#{closer.pk}" in detail
