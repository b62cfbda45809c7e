"""Each role can do what it should and nothing more; the ledger is read-only for everyone."""

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from ssr_points.models import Allocation, Entry, Lot, PointAccount
from ssr_points.roles import ROLES, roles_sync
from ssr_points.services import points_redeem
from subscriptions.models import Market


def market_form(market, **changes):
    data = {
        "code": market.code,
        "name": market.name,
        "currency": market.currency,
        "time_zone": market.time_zone,
        "reduced_tax_rate": market.reduced_tax_rate,
        "standard_tax_rate": market.standard_tax_rate,
        "exchange_fee_per_100_points": market.exchange_fee_per_100_points,
        "handling_fee_incl_tax": market.handling_fee_incl_tax,
        "free_handling_threshold_incl_tax": market.free_handling_threshold_incl_tax,
        "earn_rate_schedule": "[[1, 10], [4, 15], [7, 20], [10, 25], [13, 30]]",
        "point_value": market.point_value,
        "cx_phone": market.cx_phone,
        "cx_email": market.cx_email,
    }
    return {**data, **changes}


def groups_and_permissions() -> dict[str, set[str]]:
    return {
        group.name: {f"{perm.content_type.app_label}.{perm.codename}" for perm in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions__content_type")
    }


# What ROLES gave since the migrations made the groups, on purpose: contact notes (issue 12);
# the grants' outbox, read-only, to the supervisors and ops (the admin of fulfilment.PendingGrant);
# lifting a member's login lockout, to the supervisors; 「今すぐ実行」 of the scheduled jobs, every
# one to ops and the grant sweep to the supervisors (issue 23).
ADDED_SINCE_THE_MIGRATIONS = {
    "cx_agent": {"backoffice.view_contactnote", "backoffice.add_contactnote", "exchange.view_exchangechange"},
    "cx_supervisor": {
        "exchange.view_exchangechange",
        "backoffice.view_contactnote",
        "backoffice.add_contactnote",
        "fulfilment.view_pendinggrant",
        "backoffice.lift_login_lockout",
        "jobs.run_grants",
    },
    "ops": {
        "exchange.view_exchangechange",
        "fulfilment.view_pendinggrant",
        "jobs.run_expiry",
        "jobs.run_subscriptions",
        "jobs.run_grants",
        "jobs.run_reminders",
    },
    "finance": {"exchange.view_exchangechange"},
}


def test_the_roles_migrations_make_exactly_the_roles_of_roles_py(db):
    """0003 and 0004 made the groups of every database older than ssr_points/roles.py; run on a
    database without groups, in the migration state each ran in, they give exactly ROLES less the
    deliberate additions named above, so the post-migrate sync changed no role unnoticed."""
    Group.objects.all().delete()
    loader = MigrationLoader(connection)
    for name, function in [("0003_staff_roles", "sync_roles"), ("0004_job_run_roles", "add_permissions")]:
        migration = importlib.import_module(f"ssr_points.migrations.{name}")
        getattr(migration, function)(loader.project_state(("ssr_points", name)).apps, None)
    assert groups_and_permissions() == {
        name: set(perms) - ADDED_SINCE_THE_MIGRATIONS.get(name, set()) for name, perms in ROLES.items()
    }


def test_migrate_puts_every_role_back_as_roles_py_says(db):
    Group.objects.get(name="finance").permissions.clear()
    Group.objects.get(name="ops").delete()
    Group.objects.get(name="cx_agent").permissions.add(Permission.objects.get(codename="delete_member"))
    call_command("migrate", verbosity=0)
    assert groups_and_permissions() == {name: set(perms) for name, perms in ROLES.items()}


def test_a_role_naming_an_unknown_permission_fails_loudly(db, monkeypatch):
    monkeypatch.setitem(ROLES, "ops", [*ROLES["ops"], "jobs.launch_rocket"])
    with pytest.raises(LookupError, match=r"jobs\.launch_rocket"):
        roles_sync()


@pytest.mark.django_db(transaction=True)
def test_make_staff_gives_the_role_after_a_flush_removed_every_group(request):
    """The order that failed: a transactional test ran first and its flush removed the groups
    (and, after a serialized rollback, the permissions too); the next test's make_staff still
    gets the role."""
    call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
    assert not Group.objects.exists() and not Permission.objects.exists()
    agent = request.getfixturevalue("make_staff")("cx_agent")
    assert agent.has_perm("exchange.place_exchange_for_member")
    assert not agent.has_perm("ssr_points.adjust_points_unlimited")


@pytest.mark.parametrize(("role", "allowed"), [("ops", True), ("cx_agent", False), ("finance", False)])
def test_only_ops_change_a_markets_fee(client, make_staff, back_office_data, role, allowed):
    market = back_office_data.market
    client.force_login(make_staff(role))
    url = reverse("admin:subscriptions_market_change", args=[market.pk])
    response = client.post(url, market_form(market, exchange_fee_per_100_points=1500))
    market.refresh_from_db()
    if allowed:
        assert response.status_code == 302, getattr(response, "context", None) and response.context["errors"]
        assert market.exchange_fee_per_100_points == 1500
    else:
        assert response.status_code == 403
        assert market.exchange_fee_per_100_points == 1400


@pytest.mark.parametrize(
    ("role", "perms", "refused"),
    [
        (
            "cx_agent",
            {
                "subscriptions.view_member",
                "ssr_points.adjust_points",
                "exchange.place_exchange_for_member",
                "exchange.cancel_exchange",
                "subscriptions.mark_order_returned",
            },
            {
                "ssr_points.adjust_points_unlimited",
                "ssr_points.view_report",
                "subscriptions.change_market",
                "subscriptions.change_member",
                "subscriptions.mark_order_shipped",
            },
        ),
        (
            "cx_supervisor",
            {"ssr_points.adjust_points", "ssr_points.adjust_points_unlimited", "exchange.place_exchange_for_member"},
            {"ssr_points.view_report", "subscriptions.change_market"},
        ),
        (
            "ops",
            {
                "subscriptions.change_market",
                "subscriptions.add_product",
                "subscriptions.change_product",
                "subscriptions.mark_order_shipped",
                "ssr_points.run_ledger_check",
                "jobs.view_jobrun",
            },
            {
                "ssr_points.adjust_points",
                "subscriptions.view_member",
                "exchange.place_exchange_for_member",
                "ssr_points.view_report",
            },
        ),
        (
            "finance",
            {
                "ssr_points.view_report",
                "ssr_points.run_ledger_check",
                "ssr_points.view_entry",
                "subscriptions.view_market",
            },
            {
                "ssr_points.adjust_points",
                "subscriptions.change_market",
                "subscriptions.view_member",
                "exchange.place_exchange_for_member",
                "exchange.cancel_exchange",
                "subscriptions.mark_order_returned",
            },
        ),
    ],
)
def test_each_role_has_its_permissions_and_no_other(make_staff, role, perms, refused):
    user = make_staff(role)
    assert {perm for perm in perms if user.has_perm(perm)} == perms
    assert {perm for perm in refused if user.has_perm(perm)} == set()
    # No role deletes anything.
    assert not any(perm.split(".")[1].startswith("delete_") for perm in user.get_all_permissions())


@pytest.mark.parametrize("model", [PointAccount, Lot, Entry, Allocation])
def test_the_ledger_is_read_only_even_for_a_superuser(client, make_staff, back_office_data, model):
    points_redeem(member=back_office_data, points=20, reference="EX-TEST", reason="交換")  # an allocation
    client.force_login(make_staff(superuser=True))
    name = model._meta.model_name
    obj = model.objects.first()
    assert client.get(reverse(f"admin:ssr_points_{name}_add")).status_code == 403
    change = reverse(f"admin:ssr_points_{name}_change", args=[obj.pk])
    page = client.get(change)
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert client.post(change, {}).status_code == 403
    assert client.post(reverse(f"admin:ssr_points_{name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    changelist = client.get(reverse(f"admin:ssr_points_{name}_changelist"))
    action_form = changelist.context.get("action_form")
    assert action_form is None or "delete_selected" not in dict(action_form.fields["action"].choices)
    assert model.objects.filter(pk=obj.pk).exists()


def test_finance_sees_the_ledger_but_not_members(client, make_staff, back_office_data):
    client.force_login(make_staff("finance"))
    assert client.get(reverse("admin:ssr_points_entry_changelist")).status_code == 200
    assert client.get(reverse("admin:subscriptions_member_changelist")).status_code == 403
    market = Market.objects.get()
    assert (
        client.get(reverse("admin:subscriptions_market_change", args=[market.pk])).context["has_change_permission"]
        is False
    )
