"""Every admin page opens for every role, and shows only what the role may see."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from ssr_points.roles import ROLES

ACCOUNTS = [*ROLES, "superuser"]


def admin_pages():
    yield from admin.site._registry.items()


def _user(make_staff, account):
    return make_staff(superuser=True) if account == "superuser" else make_staff(account)


@pytest.mark.parametrize("account", ACCOUNTS)
def test_every_changelist_search_add_and_change_page_opens_or_is_refused(account, client, make_staff, back_office_data):
    user = _user(make_staff, account)
    client.force_login(user)
    request = RequestFactory().get("/")
    request.user = user
    opened = 0
    for model, model_admin in admin_pages():
        opts = model._meta
        can_view = model_admin.has_view_or_change_permission(request)
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(changelist)
        assert response.status_code == (200 if can_view else 403), (account, changelist)
        if can_view:
            opened += 1
            if model_admin.search_fields:
                assert client.get(changelist, {"q": "1"}).status_code == 200, (account, changelist)
            obj = model._default_manager.first()
            if obj is not None:
                change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
                assert client.get(change).status_code == 200, (account, change)
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        can_add = model_admin.has_add_permission(request)
        assert client.get(add).status_code == (200 if can_add else 403), (account, add)
    assert opened > 0
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("account", ACCOUNTS)
def test_report_and_ledger_check_open_for_the_roles_that_have_them(account, client, make_staff, back_office_data):
    user = _user(make_staff, account)
    client.force_login(user)
    report = client.get(reverse("admin:points_report"))
    assert report.status_code == (200 if user.has_perm("ssr_points.view_report") else 403)
    check = client.get(reverse("admin:ledger_check"))
    assert check.status_code == (200 if user.has_perm("ssr_points.run_ledger_check") else 403)


def test_member_search_finds_by_number_name_kana_email_and_phone(client, make_staff, back_office_data):
    client.force_login(make_staff("cx_agent"))
    member = back_office_data
    url = reverse("admin:subscriptions_member_changelist")
    for term in [member.member_number, "花子", "ハナコ", member.user.email.upper(), member.phone]:
        response = client.get(url, {"q": term})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [member], term


def test_member_page_shows_points_lots_history_subscription_and_payment(client, make_staff, back_office_data):
    client.force_login(make_staff("cx_agent"))
    member = back_office_data
    response = client.get(reverse("admin:subscriptions_member_change", args=[member.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "120" in body  # available points and the lot
    lot = member.lots.get()
    assert f"{lot.expires_at.astimezone().date():%Y}" in body
    assert "定期購入 注文" in body  # the grant's reason in the ledger history
    assert member.orders.get().number in body
    assert "クレジットカード" in body or "Credit card" in body
    # The links to the member's whole ledger open filtered changelists.
    for url in [reverse("admin:ssr_points_entry_changelist"), reverse("admin:ssr_points_lot_changelist")]:
        listed = client.get(url, {"member__id__exact": member.pk})
        assert listed.status_code == 200 and {obj.member_id for obj in listed.context["cl"].result_list} == {member.pk}


def test_member_changelist_annotates_points_without_a_query_per_row(
    client, make_staff, grant_points, django_assert_max_num_queries
):
    from tests.factories import MemberFactory

    for _ in range(5):
        grant_points(MemberFactory(), 10)
    client.force_login(make_staff("cx_agent"))
    with django_assert_max_num_queries(13):  # 12, and the session's SELECT (sessions in the database)
        response = client.get(reverse("admin:subscriptions_member_changelist"))
    assert [m.points_left for m in response.context["cl"].result_list] == [10] * 5


def test_lot_search_finds_an_orders_lot_by_its_number_or_the_members(
    client, make_staff, back_office_data, grant_points
):
    """Lots have no index on the order alone (docs/ledger.md): the order number is looked up
    first, then its lot by (member, order)."""
    from tests.factories import MemberFactory

    member = back_office_data
    other = MemberFactory()
    grant_points(other, 30)
    client.force_login(make_staff("cx_agent"))
    url = reverse("admin:ssr_points_lot_changelist")
    order = member.orders.get()
    for term in [order.number, f"  {order.number} ", member.member_number]:
        response = client.get(url, {"q": term})
        assert response.status_code == 200
        assert [lot.member_id for lot in response.context["cl"].result_list] == [member.pk], term
    assert list(client.get(url, {"q": "no-such-order"}).context["cl"].result_list) == []
