"""A deployment check of the database role the app connects as (docs/security.md, "Database roles").

The contact notes are append-only by a trigger (``backoffice/migrations/0001_contact_notes.py``);
a role that owns their table, or a superuser, can drop or disable that trigger, and then change or
delete what an agent wrote. The app's processes must connect as a role that owns nothing. Run by
``manage.py check --deploy --database default``, which the compose file's web service runs before
it starts serving (and ops may run any time); not by ``migrate``, which connects as the owner.
"""

from __future__ import annotations

from django.core import checks
from django.db import connections

from backoffice.models import ContactNote

TRIGGER = "backoffice_contactnote_append_only"


@checks.register(checks.Tags.database, deploy=True)
def app_role_cannot_drop_the_contact_notes_trigger(app_configs=None, databases=None, **kwargs):
    errors = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT r.rolsuper, pg_has_role(current_user, c.relowner, 'MEMBER'), pg_get_userbyid(c.relowner), "
                "(SELECT t.tgenabled FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = %s) "
                "FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.oid = to_regclass(%s)",
                [TRIGGER, ContactNote._meta.db_table],
            )
            row = cursor.fetchone()
        if row is None:
            continue  # not migrated yet
        superuser, owns, owner, trigger = row
        if superuser or owns:
            errors.append(
                checks.Error(
                    f"The app connects to the database {alias!r} as {connection.settings_dict['USER'] or 'its role'}, "
                    f"which {'is a superuser' if superuser else f'owns the contact notes table (owner {owner})'}: "
                    "it can drop the trigger that keeps contact notes append-only.",
                    hint="Connect the web, worker and beat as a role that owns no table; only migrate connects as "
                    "the owner (docs/security.md, 'Database roles').",
                    id="backoffice.E001",
                )
            )
        if trigger is None or trigger == "D":
            errors.append(
                checks.Error(
                    f"The contact notes' append-only trigger {TRIGGER} is "
                    f"{'missing' if trigger is None else 'disabled'} in the database {alias!r}.",
                    hint="Restore it as the table's owner (backoffice/migrations/0001_contact_notes.py).",
                    id="backoffice.E002",
                )
            )
    return errors
