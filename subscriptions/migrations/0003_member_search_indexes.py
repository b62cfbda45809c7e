# The indexes of the back office's member search (subscriptions/search.py, docs/admin.md).
#
# PostgreSQL only, and built CONCURRENTLY: at ten million members a plain CREATE INDEX would
# block every write to the member (or login) table for the minutes each build takes. Hence
# atomic = False. If a concurrent build fails it leaves an INVALID index: drop it, migrate again.
# pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations, models
from django.db.models.functions import Replace, Upper

import subscriptions.search

EMAIL_INDEX = models.Index(Upper("email"), name="auth_user_email_upper_idx")


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL; elsewhere the model state only."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def email_index_create(apps, schema_editor):
    """Logins by email (``email__iexact``: sign-in, lockout, the member search) read
    ``UPPER(email)``; auth_user is Django's table, so its index is made here."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model(settings.AUTH_USER_MODEL), EMAIL_INDEX, concurrently=True)


def email_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model(settings.AUTH_USER_MODEL), EMAIL_INDEX, concurrently=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("subscriptions", "0002_order_staff_permissions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        TrigramExtension(),
        AddIndexConcurrentlyOnPostgres(
            model_name="member",
            index=subscriptions.search.TrigramIndex(
                Upper(Replace(Replace(models.F("name"), models.Value(" ")), models.Value("\u3000"))),
                name="member_name_trgm_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="member",
            index=subscriptions.search.TrigramIndex(
                Upper(Replace(Replace(models.F("name_kana"), models.Value(" ")), models.Value("\u3000"))),
                name="member_name_kana_trgm_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="member",
            index=subscriptions.search.TrigramIndex(
                subscriptions.search.PhoneDigits("phone"), name="member_phone_digits_trgm_idx"
            ),
        ),
        migrations.RunPython(email_index_create, email_index_drop),
    ]
