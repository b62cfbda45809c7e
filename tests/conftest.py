import pytest
from django.db import connection

from ssr_points.services import ledger_check
from tests.factories import MemberFactory, StaffUserFactory


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
def member(db):
    return MemberFactory()


@pytest.fixture
def staff_user(db):
    return StaffUserFactory()


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
def fast_password_hashing(settings):
    """Factories hash a password per user; the real PBKDF2 costs ~0.6 s each, MD5 is enough here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
