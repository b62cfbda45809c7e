import os
import socket
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from config.broker import broker_backoff
from config.celery import app
from ssr_points.checks import ledger_check
from ssr_points.roles import roles_sync
from subscriptions.catalogue import catalogue_clear
from tests.factories import MemberFactory, ProductFactory, StaffUserFactory


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need row locks and real concurrency; SQLite runs skip them."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL; CI runs it)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def catalogue(db):
    """The guide's two subscription products (¥36,900 at 8 %, PV 180), its 42-point reward and a
    60-point reward at 10 %."""
    return {
        "sunrise": ProductFactory(sku="SUB-A", price_incl_tax=24600, tax_rate=8, pv=Decimal("120")),
        "menta": ProductFactory(sku="SUB-B", price_incl_tax=12300, tax_rate=8, pv=Decimal("60")),
        "reward": ProductFactory(sku="RW-42", reward=True, point_cost=42, tax_rate=8),
        "shaker": ProductFactory(sku="RW-60", reward=True, point_cost=60, tax_rate=10),
    }


@pytest.fixture
def member(db):
    return MemberFactory()


@pytest.fixture
def staff_user(db):
    return StaffUserFactory()


@pytest.fixture
def roles(db):
    """The back-office groups by name, made now from ssr_points/roles.py: a transactional test's
    flush may have removed the ones the migrations made, whatever ran before this test."""
    return roles_sync()


@pytest.fixture
def assert_ledger_ok():
    """Call at the end of a test (or after each step) to assert every ledger invariant."""

    def check(**kwargs):
        violations = ledger_check(**kwargs)
        assert violations == [], "\n".join(map(str, violations))

    return check


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path_factory):
    """Uploaded files (product images) go to a temporary folder, never the repository's media/."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def catalogue_cache_cleared():
    """Each process keeps markets' products by catalogue version (subscriptions/catalogue.py); a
    test starts without them, as a new process would (SQLite may reuse a market's id)."""
    catalogue_clear()
    yield
    catalogue_clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Factories hash a password per user; MD5 is enough here. tests/security/test_password_hashing.py
    puts the real Argon2id config back (and PBKDF2, which costs ~0.5 s a hash)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- the browser: Debian's chromium driven by Playwright (tests/browser, tests/backoffice) ----------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests (.ci/run installs chromium)")
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the
    # tests make between page actions are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def broker_unreachable():
    """Tasks are sent to a broker on a port where nothing listens (not eager)."""
    previous = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}

    def producer_pools_reset():
        # The app keeps its pools for the broker it first connected to (celery resets the same
        # two attributes after a fork); kombu's registry keeps each URL's pool for later.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.update(broker_url=f"redis://127.0.0.1:{closed_port()}/0", task_always_eager=False)
    producer_pools_reset()
    broker_backoff.reset()
    yield
    app.conf.update(**previous)
    producer_pools_reset()
    broker_backoff.reset()
