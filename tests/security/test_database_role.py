"""Issue 23, break 4: the contact notes' append-only trigger could be dropped by the app's own
database role, which owned the table. The deployment check (``manage.py check --deploy --database
default``, run by the compose file's web service before it serves) refuses a role that owns the
table or is a superuser, and a missing or disabled trigger; a role that owns nothing passes, and
cannot drop the trigger nor change a note (docs/security.md, "Database roles")."""

import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import DatabaseError, connection, transaction

from backoffice.models import ContactNote
from tests.factories import MemberFactory, StaffUserFactory

pytestmark = pytest.mark.postgres


def deploy_check() -> str:
    """The database's deployment checks, as ops run them; the errors' text, or "" when none."""
    try:
        call_command("check", "--deploy", "--database", "default", "--tag", "database", verbosity=0)
    except SystemCheckError as error:
        return str(error)
    return ""


@pytest.fixture
def note(db):
    return ContactNote.objects.create(member=MemberFactory(), staff_user=StaffUserFactory(), text="電話あり")


@pytest.fixture
def app_role(db):
    """A role like the compose file's ssr_app: rows only, owns nothing (dropped with the test's
    transaction)."""
    name = f"ssr_test_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOLOGIN NOSUPERUSER NOINHERIT")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {name}")
    return name


def test_the_check_refuses_a_role_that_can_drop_the_trigger(note):
    # The test database's role is a superuser, as the compose file's single role was (and owner).
    errors = deploy_check()
    assert "backoffice.E001" in errors and "append-only" in errors


def test_a_role_that_owns_nothing_passes_and_cannot_drop_the_trigger_nor_change_a_note(note, app_role):
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {app_role}")
        try:
            assert deploy_check() == ""
            for statement in [
                "DROP TRIGGER backoffice_contactnote_append_only ON backoffice_contactnote",
                "ALTER TABLE backoffice_contactnote DISABLE TRIGGER backoffice_contactnote_append_only",
                "TRUNCATE backoffice_contactnote",
                "UPDATE backoffice_contactnote SET text = 'changed'",
                "DELETE FROM backoffice_contactnote",
            ]:
                with pytest.raises(DatabaseError), transaction.atomic():
                    cursor.execute(statement)
        finally:
            cursor.execute("RESET ROLE")
    assert ContactNote.objects.get().text == "電話あり"


def test_the_check_reports_a_disabled_trigger(db, app_role):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE backoffice_contactnote DISABLE TRIGGER backoffice_contactnote_append_only")
        cursor.execute(f"SET ROLE {app_role}")
        try:
            errors = deploy_check()
        finally:
            cursor.execute("RESET ROLE")
    assert "backoffice.E002" in errors and "disabled" in errors and "backoffice.E001" not in errors
