"""Production settings pass Django's deployment checklist (``manage.py check --deploy``)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def run_manage(*args, **env_overrides):
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "EMAIL_", "ORDER_EVENTS_"))
    }
    env.update(env_overrides)
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION_ENV = {
    "DJANGO_PRODUCTION": "1",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
    "DJANGO_ALLOWED_HOSTS": "rewards.example.com",
    "ORDER_EVENTS_SECRET": secrets.token_urlsafe(32),
    "SITE_URL": "https://rewards.example.com",
}


def test_production_settings_pass_check_deploy_without_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "ORDER_EVENTS_SECRET", "SITE_URL"])
def test_production_refuses_to_start_without_its_secret_and_hosts(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_settings_are_hardened():
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS >= 31536000, s.SESSION_COOKIE_HTTPONLY)"
    )
    result = run_manage("shell", "-c", code, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-6:] == ["False", "True", "True", "True", "True", "True"]


# -- secure by default (issue 10, break 11) ------------------------------------------------------


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "ORDER_EVENTS_SECRET"])
@pytest.mark.parametrize(
    "value",
    [
        "change-me-in-production",  # the old docker-compose.yml default: anyone could sign events
        "dev-only-order-events-secret",
        "short-but-random-Qz81",
        "a" * 80,
    ],
)
@pytest.mark.parametrize("mode", ["production", "debug_off"])
def test_outside_debug_the_app_refuses_a_public_short_or_simple_secret(name, value, mode):
    env = dict(PRODUCTION_ENV, **{name: value})
    if mode == "debug_off":
        env.pop("DJANGO_PRODUCTION")
        env["DJANGO_DEBUG"] = "0"
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr


# -- issue 23, break 4 -------------------------------------------------------------------------------


def test_production_refuses_to_start_with_debug_on():
    result = run_manage("check", DJANGO_DEBUG="1", **PRODUCTION_ENV)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_DEBUG" in result.stderr


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "ORDER_EVENTS_SECRET"])
@pytest.mark.parametrize(
    "value",
    [
        "change-me-in-production" + " " * 40,  # a public default padded to 60 characters
        " " * 30 + "dev-only-order-events-secret",
        "Qz81-short" + " " * 50,
        "a b c d e f g h i j k l m n o p q r s t u v w x y z",  # spaces are not random characters
    ],
)
def test_a_secret_padded_with_spaces_is_judged_without_them(name, value):
    result = run_manage("check", **dict(PRODUCTION_ENV, **{name: value}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr


@pytest.mark.parametrize("site_url", ["", "/", "rewards.example.com", "http://rewards.example.com"])
def test_production_refuses_a_site_url_the_emails_cannot_link_to(site_url):
    result = run_manage("check", **dict(PRODUCTION_ENV, SITE_URL=site_url))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SITE_URL" in result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "ORDER_EVENTS_SECRET"])
def test_with_debug_off_the_app_refuses_to_start_without_its_secrets(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key not in ("DJANGO_PRODUCTION", missing)}
    result = run_manage("check", DJANGO_DEBUG="0", **env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_a_developer_machine_and_the_tests_start_with_nothing_set():
    result = run_manage("shell", "-c", "from django.conf import settings as s; print(s.DEBUG, s.ORDER_EVENTS_SECRET)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["True", "dev-only-order-events-secret"]


COMPOSE = (BASE_DIR / "docker-compose.yml").read_text()


def test_the_compose_file_runs_every_service_with_production_settings():
    app_block = COMPOSE.split("x-app: &app", 1)[1].split("\nservices:", 1)[0]
    assert 'DJANGO_PRODUCTION: "1"' in app_block
    for service in ("web", "worker", "beat"):
        block = COMPOSE.split(f"\n  {service}:\n", 1)[1].split("\n  ", 1)[0]
        assert "<<: *app" in block, service


@pytest.mark.parametrize(
    "name",
    [
        "DJANGO_SECRET_KEY",
        "ORDER_EVENTS_SECRET",
        "POSTGRES_PASSWORD",
        "APP_DB_PASSWORD",
        "DJANGO_ALLOWED_HOSTS",
        "SITE_URL",  # an empty one made every link in the emails relative
    ],
)
def test_the_compose_file_refuses_to_start_without_each_secret(name):
    assert f"${{{name}:?" in COMPOSE  # compose stops with the message when unset or empty
    assert f"${{{name}:-" not in COMPOSE  # and no default stands in for it
    assert "change-me" not in COMPOSE


def test_the_compose_file_publishes_the_web_tier_on_loopback_only():
    published = [line.strip() for line in COMPOSE.splitlines() if line.strip().startswith("ports:")]
    assert published == ['ports: ["127.0.0.1:8000:8000"]']


def test_the_app_connects_as_a_role_that_owns_no_table_and_only_migrate_as_the_owner():
    app_block = COMPOSE.split("x-app: &app", 1)[1].split("\nservices:", 1)[0]
    assert "DATABASE_URL: postgres://ssr_app:" in app_block  # web, worker, beat
    migrate = COMPOSE.split("\n  migrate:\n", 1)[1].split("\n  web:\n", 1)[0]
    assert "DATABASE_URL: postgres://ssr:" in migrate and "command: python manage.py migrate" in migrate
    web = COMPOSE.split("\n  web:\n", 1)[1].split("\n  worker:\n", 1)[0]
    assert "migrate --noinput" not in web
    assert "manage.py check --deploy --database default --fail-level ERROR && gunicorn" in web
    assert "10-app-role.sh:/docker-entrypoint-initdb.d/" in COMPOSE
    assert (BASE_DIR / "docker" / "postgres" / "10-app-role.sh").exists()


def test_the_image_runs_the_app_as_a_user_of_its_own_not_root():
    dockerfile = (BASE_DIR / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    last_user = max(i for i, line in enumerate(dockerfile) if line.startswith("USER "))
    assert not any(line.startswith("RUN ") for line in dockerfile[last_user:])  # nothing after it runs as root
    assert dockerfile.index(next(line for line in dockerfile if line.startswith("CMD "))) > last_user
    # The build's own run of the production settings gives them what they require.
    build = next(i for i, line in enumerate(dockerfile) if "DJANGO_PRODUCTION=1" in line and line.startswith("RUN "))
    assert "SITE_URL=https://" in dockerfile[build]
    # Beat keeps its schedule where that user may write.
    assert "beat -l info --schedule /tmp/" in COMPOSE
