"""The back-office roles (docs/admin.md), as groups with exactly these permissions.

Frozen here as migrations should be; a change of a role is a new migration. Running it again
sets each group's permissions to the list (idempotent). A permission missing from the list's
apps fails the migration loudly rather than creating a weaker role.
"""

from django.db import migrations
from django.db.models import Q

LEDGER_VIEW = [
    "ssr_points.view_pointaccount",
    "ssr_points.view_lot",
    "ssr_points.view_entry",
    "ssr_points.view_allocation",
]
CATALOGUE_VIEW = ["subscriptions.view_market", "subscriptions.view_product"]
SUBSCRIPTIONS_VIEW = [
    "subscriptions.view_subscription",
    "subscriptions.view_subscriptionitem",
    "subscriptions.view_subscriptionorder",
    "subscriptions.view_subscriptionorderline",
]
EXCHANGE_VIEW = ["exchange.view_exchange", "exchange.view_exchangeline"]
CX_AGENT = [
    "subscriptions.view_member",
    *CATALOGUE_VIEW,
    *SUBSCRIPTIONS_VIEW,
    *LEDGER_VIEW,
    "subscriptions.mark_order_returned",
    "ssr_points.adjust_points",
    *EXCHANGE_VIEW,
    "exchange.place_exchange_for_member",
    "exchange.cancel_exchange",
    "exchange.view_exchangerequest",
    "exchange.change_exchangerequest",
]
ROLES = {
    "cx_agent": CX_AGENT,
    "cx_supervisor": [*CX_AGENT, "ssr_points.adjust_points_unlimited", "ssr_points.run_ledger_check"],
    "ops": [
        *CATALOGUE_VIEW,
        "subscriptions.add_market",
        "subscriptions.change_market",
        "subscriptions.add_product",
        "subscriptions.change_product",
        *SUBSCRIPTIONS_VIEW,
        "subscriptions.mark_order_shipped",
        *EXCHANGE_VIEW,
        "ssr_points.run_ledger_check",
    ],
    "finance": [
        *CATALOGUE_VIEW,
        *LEDGER_VIEW,
        *EXCHANGE_VIEW,
        "ssr_points.view_report",
        "ssr_points.run_ledger_check",
    ],
}


def sync_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate (post_migrate); create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        wanted = set(perms)
        query = Q(pk__in=[])
        for perm in wanted:
            app_label, codename = perm.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        found = list(Permission.objects.filter(query))
        missing = wanted - {f"{p.content_type.app_label}.{p.codename}" for p in found}
        if missing:
            raise RuntimeError(f"Role {name}: unknown permissions {sorted(missing)}")
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(found)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("exchange", "0002_exchange_staff_permissions"),
        ("ssr_points", "0002_staff_permissions_report_index"),
        ("subscriptions", "0002_order_staff_permissions"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
