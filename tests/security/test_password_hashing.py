"""Passwords are hashed with Argon2id at OWASP's parameters; older hashes upgrade at the next login.

The rest of the suite hashes with MD5 for speed (tests/conftest.py); these tests put the
project's real ``PASSWORD_HASHERS`` back and log in through the real login pages, with the
whole middleware stack (django-axes included).
"""

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, identify_hasher, make_password
from django.urls import reverse

from config import settings as project_settings
from config.passwords import Argon2idPasswordHasher
from tests.factories import MemberFactory, StaffUserFactory

PASSWORD = "pass-word-123"
MEMBER_IP = "198.51.100.7"
ARGON2ID_OWASP = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture(autouse=True)
def project_hashers(settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS


def login(client, url, username, password):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=MEMBER_IP)


def test_new_passwords_are_argon2id_with_owasp_parameters(db):
    encoded = make_password(PASSWORD)
    assert encoded.startswith(ARGON2ID_OWASP)
    assert isinstance(identify_hasher(encoded), Argon2idPasswordHasher)
    assert check_password(PASSWORD, encoded)
    assert not check_password("wrong-password", encoded)


@pytest.mark.parametrize(
    ("url_name", "factory", "identifier"),
    [
        ("login", MemberFactory, lambda member: member.member_number),
        ("login", MemberFactory, lambda member: member.user.email),
        ("admin:login", StaffUserFactory, lambda user: user.username),
    ],
    ids=["member-number", "member-email", "admin"],
)
def test_a_pbkdf2_hash_is_rehashed_with_argon2id_at_the_next_login(client, db, url_name, factory, identifier):
    made = factory()
    user = getattr(made, "user", made)
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")  # Django 6.1's 1,500,000 iterations
    user.save(update_fields=["password"])

    response = login(client, reverse(url_name), identifier(made), PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    user.refresh_from_db()
    assert user.password.startswith(ARGON2ID_OWASP)
    assert check_password(PASSWORD, user.password)
    # The session carries the new hash: the next page still knows the user.
    assert client.get(reverse("admin:index" if url_name == "admin:login" else "home")).status_code == 200


def test_a_failed_login_leaves_the_old_hash_alone(client, db):
    member = MemberFactory()
    old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    member.user.password = old
    member.user.save(update_fields=["password"])

    response = login(client, reverse("login"), member.member_number, "wrong-password")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    member.user.refresh_from_db()
    assert member.user.password == old


def test_an_argon2_hash_with_djangos_heavier_defaults_is_rehashed_to_ours(client, db):
    """Django's own Argon2 defaults (m = 100 MiB, p = 8) cost ~9 × the CPU per login for no gain here."""
    member = MemberFactory()
    member.user.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    assert "m=102400,t=2,p=8" in member.user.password
    member.user.save(update_fields=["password"])

    assert login(client, reverse("login"), member.member_number, PASSWORD).status_code == 302

    member.user.refresh_from_db()
    assert member.user.password.startswith(ARGON2ID_OWASP)


def test_a_login_with_an_up_to_date_hash_writes_no_new_hash(client, db):
    member = MemberFactory()
    member.user.set_password(PASSWORD)
    member.user.save(update_fields=["password"])
    current = member.user.password

    assert login(client, reverse("login"), member.member_number, PASSWORD).status_code == 302

    member.user.refresh_from_db()
    assert member.user.password == current
