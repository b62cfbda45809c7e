"""Job runs and expiry reminders (issue 4's ``jobs`` app) for the back-office roles (docs/admin.md).

Adds permissions to the groups of 0003; like it, fails loudly on an unknown permission.
"""

from django.db import migrations
from django.db.models import Q

ADD = {
    "ops": ["jobs.view_jobrun", "jobs.view_expiryreminder"],
    "finance": ["jobs.view_jobrun"],
    "cx_supervisor": ["jobs.view_jobrun", "jobs.view_expiryreminder"],
    "cx_agent": ["jobs.view_expiryreminder"],
}


def add_permissions(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ADD.items():
        query = Q(pk__in=[])
        for perm in perms:
            app_label, codename = perm.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        found = list(Permission.objects.filter(query))
        if len(found) != len(perms):
            raise RuntimeError(f"Role {name}: unknown permissions among {perms}")
        Group.objects.get(name=name).permissions.add(*found)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("ssr_points", "0003_staff_roles"),
    ]

    operations = [migrations.RunPython(add_permissions, migrations.RunPython.noop)]
