"""Issue 11 item 8 and "Demo and first run": the demo data is dated as real life would date it,
and ./dev demo's console says what it does, prints every login and stays quiet otherwise."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from exchange.models import Exchange
from ssr_points.checks import ledger_check
from ssr_points.models import Entry
from ssr_points.selectors import earn_progress, points_expiring_soon, points_spendable
from ssr_points.services import lot_expires_at
from subscriptions.models import Member, Subscription

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return Member.objects.get(member_number="100001")


def test_every_line_of_the_demo_history_is_dated_when_it_happened(demo):
    now = timezone.now()
    entries = list(Entry.objects.filter(member=demo).select_related("lot").order_by("created_at", "id"))
    first_subscription = Subscription.objects.filter(member=demo).order_by("created_at").first()
    assert demo.joined_at < first_subscription.created_at < entries[0].created_at
    assert now - demo.joined_at > dt.timedelta(days=365)  # a history longer than a lot's life
    assert all(entry.created_at <= now for entry in entries)
    kinds = {entry.kind for entry in entries}
    assert {"grant", "redemption", "reversal", "expiry"} <= kinds
    for entry in entries:
        if entry.kind == "grant":
            lot = entry.lot
            assert entry.created_at == lot.granted_at  # the day it took effect
            assert lot.order.shipped_at == lot.granted_at
            assert lot.expires_at == lot_expires_at(granted_at=lot.granted_at, zone="Asia/Tokyo")
        if entry.kind == "expiry":
            # The nightly run at 00:05 on the expiry day, not the day the demo was loaded.
            assert entry.created_at == entry.lot.expires_at + dt.timedelta(minutes=5)
    for exchange in Exchange.objects.filter(member=demo):
        assert exchange.redemption.created_at == exchange.created_at
    assert ledger_check() == []


def test_the_demo_has_run_each_job_once(demo):
    """Issue 23: ./dev demo runs every job once, so its job runs list is not empty; loading the demo
    again adds no run."""
    from jobs.models import JobRun

    runs = dict(JobRun.objects.values_list("kind", "status"))
    assert runs == {kind: JobRun.Status.SUCCEEDED for kind in JobRun.Kind.values}
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert JobRun.objects.count() == len(JobRun.Kind.values)


def test_the_demo_member_shows_every_home_feature(demo):
    spendable = points_spendable(member=demo)
    assert points_expiring_soon(lots=spendable.lots, at=timezone.now()) is not None
    progress = earn_progress(member=demo)
    assert progress.next_step_rate is not None and progress.next_order_points > 0
    assert spendable.available >= 100


@pytest.mark.slow
def test_the_demo_console_lists_every_login_and_how_to_reset_and_is_otherwise_quiet(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_SETTINGS_MODULE")
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "SITE_URL": "http://127.0.0.1:8765",  # what ./dev demo sets from PORT=8765
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, capture_output=True)  # noqa: S603
    seeded = subprocess.run([*manage, "seed_demo"], env=env, check=True, capture_output=True, text=True)  # noqa: S603
    out = seeded.stdout
    for login in ["100001", "100002", "100003", "admin", "cx-agent", "cx-supervisor", "ops", "finance"]:
        assert login in out
    assert "ssr-demo-2026" in out and "./dev demo-reset" in out
    assert "http://127.0.0.1:8765/admin/" in out and ":8000" not in out  # the address it is served on
    assert seeded.stderr == ""  # no lockout banner, no task chatter, no warnings
    assert "Task " not in out and "AXES" not in out
    assert any((tmp_path / "media" / "products" / "thumbs").glob("*.webp"))


def test_the_demo_pictures_are_stored_once_with_their_dimensions(demo, settings):
    """A product whose width and height are missing opens its picture on every load."""
    import os

    from subscriptions.models import Product

    products = Product.objects.exclude(image="")
    assert products.count() == 8
    assert not products.filter(image_width__isnull=True).exists()
    assert set(products.values_list("image_width", flat=True)) == {640}
    stored = os.listdir(os.path.join(settings.MEDIA_ROOT, "products"))
    assert len([name for name in stored if name.endswith(".png")]) == 8  # one file per picture
