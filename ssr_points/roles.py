"""The back-office roles (docs/admin.md): each group and exactly the permissions it has.

This is the one definition of the roles. ``roles_sync`` makes the groups match it; it runs after
every ``migrate`` (``SsrPointsConfig.ready``), and the tests and ``seed_demo`` call it too.
Migrations 0003 and 0004 made the same groups before this module existed and stay as they ran
(tests/backoffice/test_roles.py checks that they produce exactly ``ROLES``).
"""

from typing import TYPE_CHECKING

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import Group

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
EXCHANGE_VIEW = ["exchange.view_exchange", "exchange.view_exchangeline", "exchange.view_exchangechange"]
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
    "jobs.view_expiryreminder",
    # Contact notes (backoffice.ContactNote): CX write what was said on a call; nobody changes or
    # deletes one (the model has no such permissions).
    "backoffice.view_contactnote",
    "backoffice.add_contactnote",
]
ROLES: dict[str, list[str]] = {
    "cx_agent": CX_AGENT,
    "cx_supervisor": [
        *CX_AGENT,
        "ssr_points.adjust_points_unlimited",
        "ssr_points.run_ledger_check",
        "jobs.view_jobrun",
        # 「今すぐ実行」 of the grant sweep: "my points have not arrived" after a broker outage.
        "jobs.run_grants",
        # The grants' outbox: "my points have not arrived" (read-only, backoffice/admin/fulfilment.py).
        "fulfilment.view_pendinggrant",
        # A member locked out of their login (django-axes) on the phone: the supervisor lifts it,
        # recorded in the member's timeline (backoffice.services.login_lockout_lift).
        "backoffice.lift_login_lockout",
    ],
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
        "jobs.view_jobrun",
        "jobs.view_expiryreminder",
        "fulfilment.view_pendinggrant",
        # 「今すぐ実行」 of every scheduled job (jobs/run_now.py): a missed night, a retry.
        "jobs.run_expiry",
        "jobs.run_subscriptions",
        "jobs.run_grants",
        "jobs.run_reminders",
    ],
    "finance": [
        *CATALOGUE_VIEW,
        *LEDGER_VIEW,
        *EXCHANGE_VIEW,
        "ssr_points.view_report",
        "ssr_points.run_ledger_check",
        "jobs.view_jobrun",
    ],
}

# Points a staff user may add in total per day (the program's day, Asia/Tokyo) through
# adjustments, whatever the number of adjustments: the largest cap among the user's roles.
# Beyond it a supervisor (a role with a larger cap) must add the points. Removing points is not
# capped here (it is bounded by the member's balance and the per-adjustment limit). A superuser
# has no cap; a staff user in none of these roles adds nothing.
DAILY_POINTS_ADDED_CAP: dict[str, int] = {
    "cx_agent": 3_000,
    "cx_supervisor": 30_000,
}


def daily_points_added_cap(user) -> int | None:
    """The points ``user`` may add in total per day, or None for no cap (a superuser)."""
    if user.is_superuser:
        return None
    names = user.groups.filter(name__in=DAILY_POINTS_ADDED_CAP).values_list("name", flat=True)
    return max((DAILY_POINTS_ADDED_CAP[name] for name in names), default=0)


def daily_cap_approvers(user) -> list:
    """Who can add the points beyond ``user``'s daily cap: the active staff users in a role with a
    larger cap (for an agent, the CX supervisors), or, when nobody has one, the active superusers
    (who have no cap); never ``user``. Sorted by username, for the form's message."""
    User = get_user_model()
    cap = daily_points_added_cap(user)
    larger = [name for name, role_cap in DAILY_POINTS_ADDED_CAP.items() if cap is not None and role_cap > cap]
    staff = User.objects.filter(is_active=True, is_staff=True).exclude(pk=user.pk).order_by(User.USERNAME_FIELD)
    approvers = list(staff.filter(groups__name__in=larger).distinct()) if larger else []
    return approvers or list(staff.filter(is_superuser=True))


def roles_sync(*, apps: Apps = global_apps, using: str = DEFAULT_DB_ALIAS) -> dict[str, "Group"]:
    """Create or update each group of ``ROLES`` with exactly its permissions; return the groups by name.

    Creates missing permissions first: Django makes them after ``migrate``, and a flush (a
    transactional test's teardown) may just have removed them. A permission that still does not
    exist raises ``LookupError`` rather than leaving a weaker role. ``apps`` is the migration
    state's registry when called from ``post_migrate``.
    """
    from django.contrib.auth.management import create_permissions

    wanted = {perm for perms in ROLES.values() for perm in perms}
    for app_label in sorted({perm.split(".")[0] for perm in wanted}):
        create_permissions(global_apps.get_app_config(app_label), apps=apps, using=using, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    query = Q(pk__in=[])
    for perm in wanted:
        app_label, codename = perm.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = {
        f"{permission.content_type.app_label}.{permission.codename}": permission
        for permission in Permission.objects.using(using).filter(query).select_related("content_type")
    }
    if missing := wanted - found.keys():
        raise LookupError(f"The roles name permissions that do not exist: {sorted(missing)}")
    groups = {}
    with transaction.atomic(using=using):
        for name, perms in ROLES.items():
            group, _ = Group.objects.using(using).get_or_create(name=name)
            group.permissions.set([found[perm] for perm in perms])
            groups[name] = group
    return groups


def roles_sync_after_migrate(*, using: str, apps: Apps = global_apps, **kwargs) -> None:
    """``post_migrate`` receiver: every ``migrate`` (each deploy) leaves the groups as ``ROLES`` says.
    ``flush`` sends the signal too, without ``apps``."""
    roles_sync(apps=apps, using=using)
