"""Every order shipped before the outbox existed and still without a grant is owed its points:
record a pending grant for each, however old (the 35-day sweep window used to forget them).
Orders that earn nothing get a row too; the first sweep removes it without a grant."""

from django.db import migrations
from django.utils import timezone


def pending_grants_backfill(apps, schema_editor):
    PendingGrant = apps.get_model("fulfilment", "PendingGrant")
    SubscriptionOrder = apps.get_model("subscriptions", "SubscriptionOrder")
    Lot = apps.get_model("ssr_points", "Lot")
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PendingGrant._meta.db_table} (member_id, order_id, created_at) "
            f"SELECT o.member_id, o.id, %s FROM {SubscriptionOrder._meta.db_table} AS o "
            f"WHERE o.status = 'shipped' AND NOT EXISTS ("
            f"SELECT 1 FROM {Lot._meta.db_table} AS l WHERE l.member_id = o.member_id AND l.order_id = o.id)",
            [connection.ops.adapt_datetimefield_value(timezone.now())],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("fulfilment", "0001_pending_grant"),
        ("ssr_points", "0004_job_run_roles"),
    ]

    operations = [migrations.RunPython(pending_grants_backfill, migrations.RunPython.noop)]
