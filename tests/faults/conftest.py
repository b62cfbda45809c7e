"""The fault tests run the app as it runs in production — gunicorn, a Celery worker — as
subprocesses on the test database, and take PostgreSQL or Redis away from them: a TCP proxy
the test starts (tests/faults/proxy.py), ``pg_terminate_backend`` on the app's own sessions
(``PGAPPNAME`` names them), ``kill -9`` of the worker's pool process. Every wait is bounded;
every process is started and stopped by the test; the machine's PostgreSQL and Redis are
never stopped. After each test the whole ledger is checked."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from config.celery import app
from order_events.services import event_signature
from ssr_points.checks import ledger_check
from tests.faults.proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
WEB_APP_NAME = "ssr-faults-web"
WORKER_APP_NAME = "ssr-faults-worker"
# The subprocesses run with DEBUG off, hence with real secrets; the test process signs events
# and sessions with the same ones.
SECRET_KEY = secrets.token_urlsafe(60)
ORDER_EVENTS_SECRET = secrets.token_urlsafe(32)


@pytest.fixture(autouse=True)
def _needs_the_stack(settings):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("the fault tests run the real stack: set DATABASE_URL and REDIS_URL (CI does)")
    settings.SECRET_KEY = SECRET_KEY
    settings.ORDER_EVENTS_SECRET = ORDER_EVENTS_SECRET


@pytest.fixture(autouse=True)
def _ledger_checked_after(_needs_the_stack):
    yield
    violations = ledger_check()
    assert violations == [], "\n".join(map(str, violations))


def test_database_url() -> str:
    db = connection.settings_dict  # during tests NAME is the test database (test_<name>)
    user = db.get("USER") or ""
    password = f":{urllib.parse.quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def through_port(url: str, port: int) -> str:
    """``url`` (a service's, with its credentials and path) pointed at a proxy's loopback port."""
    parts = urllib.parse.urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    return parts._replace(netloc=f"{auth + '@' if auth else ''}127.0.0.1:{port}").geturl()


def redis_url(port: int | None = None) -> str:
    """settings.REDIS_URL (the tests' own Redis database), or the same through a proxy's port."""
    return settings.REDIS_URL if port is None else through_port(settings.REDIS_URL, port)


def redis_proxy() -> TcpProxy:
    parts = urllib.parse.urlsplit(settings.REDIS_URL)
    return TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(**overrides) -> dict:
    """The environment of an app process: production-like (DEBUG off, real secrets) on the test
    database and the tests' Redis database, tasks sent to a broker (not eager)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "ORDER_EVENTS_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=SECRET_KEY,
        ORDER_EVENTS_SECRET=ORDER_EVENTS_SECRET,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_TASK_ALWAYS_EAGER="0",
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def wait_for(check, *, timeout: float, what: str, logs=()):
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    shown = "\n".join(f"--- {log}:\n{Path(log).read_text()[-6000:]}" for log in logs)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{shown}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def gunicorn(tmp_path: Path, *, workers: int = 1, **env):
    """gunicorn serving the app on a free loopback port; yields (base URL, log path)."""
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and app, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
            env=app_env(PGAPPNAME=WEB_APP_NAME, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def answers():
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
            try:
                return requests.get(f"{base}/login/", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answers, timeout=60, what="gunicorn to answer", logs=[log])
        yield base, log
    finally:
        _stop(process)


@contextmanager
def celery_worker(tmp_path: Path, *, queue: str, pool: str = "solo", **env):
    """A Celery worker on its own queue; yields (process, log path)."""
    log = tmp_path / f"worker-{queue}.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and app, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-l",
                "info",
                "-Q",
                queue,
                "-P",
                pool,
                "-c",
                "1",
                "-n",
                f"{queue}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=app_env(PGAPPNAME=WORKER_APP_NAME, DATABASE_POOL="0", CELERY_TASK_DEFAULT_QUEUE=queue, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: " ready." in log.read_text() or process.poll() is not None, timeout=60, what="the worker")
        assert process.poll() is None, log.read_text()
        yield process, log
    finally:
        _stop(process)


@pytest.fixture
def queue():
    """A queue of the test's own, and this process sending its tasks there (not eager)."""
    name = f"faults-{uuid.uuid4().hex[:8]}"
    previous = {"task_always_eager": app.conf.task_always_eager, "task_default_queue": app.conf.task_default_queue}
    app.conf.update(task_always_eager=False, task_default_queue=name)
    yield name
    app.conf.update(**previous)


def access_log_statuses(log: Path) -> list[int]:
    """The status of every request gunicorn answered (its access log lines)."""
    return [int(status) for status in re.findall(r'HTTP/1\.[01]" (\d{3}) ', log.read_text())]


def app_sessions(app_name: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [app_name],
        )
        return [row[0] for row in cursor.fetchall()]


# A client's patience with one request: far below the 19 s a shipped event hung before the
# outbox, above one socket timeout and the pool's wait for a connection in these tests.
REQUEST_TIMEOUT = 12


def shipped_event(base: str, order) -> tuple[requests.Response, float]:
    """The commerce system's signed ``order-shipped`` event for ``order``; (answer, seconds)."""
    body = json.dumps(
        {"event_id": f"evt-{order.number}", "member_number": order.member.member_number, "order_number": order.number}
    ).encode()
    timestamp = str(int(time.time()))
    started = time.monotonic()
    response = requests.post(
        f"{base}/api/events/order-shipped/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-SSR-Timestamp": timestamp,
            "X-SSR-Signature": event_signature(secret=ORDER_EVENTS_SECRET, timestamp=timestamp, body=body),
        },
        timeout=REQUEST_TIMEOUT,
    )
    return response, time.monotonic() - started
