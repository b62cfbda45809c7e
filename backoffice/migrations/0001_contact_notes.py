"""Contact notes, append-only: on PostgreSQL a trigger refuses any UPDATE or DELETE of a row, so
not even a bug or a shell session changes what an agent wrote (TRUNCATE, a test database's
flush, is not a row change). SQLite (development) relies on the admin and the service."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


APPEND_ONLY = """
CREATE FUNCTION backoffice_contactnote_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'contact notes are append-only: add a new note instead';
END
$$;
CREATE TRIGGER backoffice_contactnote_append_only BEFORE UPDATE OR DELETE ON backoffice_contactnote
    FOR EACH ROW EXECUTE FUNCTION backoffice_contactnote_append_only();
"""
APPEND_ONLY_REMOVED = """
DROP TRIGGER IF EXISTS backoffice_contactnote_append_only ON backoffice_contactnote;
DROP FUNCTION IF EXISTS backoffice_contactnote_append_only();
"""


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY)


def append_only_removed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_REMOVED)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('subscriptions', '0003_member_search_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='written at')),
                ('text', models.TextField(max_length=2000, verbose_name='what was said')),
                ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='contact_notes', to='subscriptions.member', verbose_name='member')),
                ('staff_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='staff user')),
            ],
            options={
                'verbose_name': 'contact note',
                'verbose_name_plural': 'contact notes',
                'default_permissions': ('add', 'view'),
                'indexes': [models.Index(fields=['member', '-created_at', '-id'], name='contact_note_member_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('text', ''), _negated=True), django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('text'), 2000)), name='contact_note_text_valid')],
            },
        ),
        migrations.RunPython(append_only, append_only_removed),
    ]
