"""Each staff action goes through its service and leaves a ledger entry saying who and why,
plus a Django admin log entry; bad input is refused with a message and the ledger unchanged."""

import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from exchange.models import Exchange, ExchangeRequest
from exchange.services import exchange_mark_shipped, exchange_place, exchange_request_create
from ssr_points.models import Entry, Lot, PointAccount
from ssr_points.selectors import points_available
from subscriptions.models import SubscriptionOrder
from tests.factories import OrderFactory


def messages_of(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def ledger_state(member):
    account = PointAccount.objects.get(member=member)
    return (
        account.balance,
        account.debt,
        list(Lot.objects.filter(member=member).order_by("pk").values_list("remaining", "expired")),
        Entry.objects.filter(member=member).count(),
    )


def adjust(client, member, points, reason, *, key=None):
    """Review then confirm an adjustment, as the agent would."""
    url = reverse("admin:subscriptions_member_adjust_points", args=[member.pk])
    data = {"points": points, "reason": reason, "idempotency_key": str(key or uuid.uuid4())}
    review = client.post(url, {**data, "preview": "1"})
    return review, client.post(url, {**data, "confirm": "1"}, follow=True)


# -- adjust points -----------------------------------------------------------------------------


def test_adjustment_is_confirmed_then_recorded_with_reason_staff_user_and_admin_log(
    client, make_staff, bank_member, assert_ledger_ok
):
    agent = make_staff("cx_agent")
    client.force_login(agent)
    form = client.get(reverse("admin:subscriptions_member_adjust_points", args=[bank_member.pk]))
    assert form.status_code == 200
    review, done = adjust(client, bank_member, 50, "配送遅延のお詫び")
    assert review.context["confirming"] is True
    assert review.context["available_after"] == 350
    assert done.status_code == 200
    entry = Entry.objects.get(member=bank_member, kind=Entry.Kind.ADJUSTMENT)
    assert (entry.points, entry.reason, entry.staff_user) == (50, "配送遅延のお詫び", agent)
    assert points_available(member=bank_member) == 350
    log = LogEntry.objects.get(user=agent, object_id=str(bank_member.pk))
    assert "配送遅延のお詫び" in log.change_message
    assert_ledger_ok()


def test_negative_adjustment_takes_points_soonest_expiring_first(client, make_staff, bank_member, assert_ledger_ok):
    client.force_login(make_staff("cx_agent"))
    adjust(client, bank_member, -120, "重複付与の訂正")
    entry = Entry.objects.get(member=bank_member, kind=Entry.Kind.ADJUSTMENT)
    assert entry.points == -120
    assert points_available(member=bank_member) == 180
    assert_ledger_ok()


def test_a_double_submitted_confirmation_adjusts_once(client, make_staff, bank_member, assert_ledger_ok):
    client.force_login(make_staff("cx_agent"))
    key = uuid.uuid4()
    adjust(client, bank_member, 30, "お詫び", key=key)
    adjust(client, bank_member, 30, "お詫び", key=key)
    assert Entry.objects.filter(member=bank_member, kind=Entry.Kind.ADJUSTMENT).count() == 1
    assert LogEntry.objects.filter(object_id=str(bank_member.pk)).count() == 1
    assert_ledger_ok()


@pytest.mark.parametrize(
    ("role", "points", "reason", "expected"),
    [
        ("cx_agent", 10, "   ", None),  # empty reason: the form refuses it
        ("cx_agent", -301, "訂正", "Not enough points"),
        ("cx_agent", 1001, "大口補填", "supervisor"),
        ("cx_agent", -1001, "大口訂正", "supervisor"),
    ],
)
def test_bad_adjustments_are_refused_with_a_message_and_the_ledger_unchanged(
    client, make_staff, bank_member, settings, role, points, reason, expected, assert_ledger_ok
):
    settings.LANGUAGE_CODE = "en"
    client.force_login(make_staff(role))
    before = ledger_state(bank_member)
    review, done = adjust(client, bank_member, points, reason)
    if expected is None:
        assert review.context["form"].errors["reason"]
        assert done.context["form"].errors["reason"]
    else:
        assert expected in messages_of(done) or expected in done.content.decode()
    assert ledger_state(bank_member) == before
    assert not LogEntry.objects.exists()
    assert_ledger_ok()


def test_a_supervisor_adjusts_above_the_cx_limit(client, make_staff, bank_member, assert_ledger_ok):
    supervisor = make_staff("cx_supervisor")
    client.force_login(supervisor)
    adjust(client, bank_member, 5000, "大口補填（承認済み）")
    assert Entry.objects.get(member=bank_member, kind=Entry.Kind.ADJUSTMENT).staff_user == supervisor
    assert points_available(member=bank_member) == 5300
    assert_ledger_ok()


def test_the_cx_limit_is_a_setting(client, make_staff, bank_member, settings):
    settings.SSR_CX_ADJUSTMENT_LIMIT = 20
    client.force_login(make_staff("cx_agent"))
    before = ledger_state(bank_member)
    adjust(client, bank_member, 21, "補填")
    assert ledger_state(bank_member) == before
    adjust(client, bank_member, 20, "補填")
    assert points_available(member=bank_member) == 320


@pytest.mark.parametrize("role", ["finance", "ops"])
def test_finance_and_ops_cannot_adjust_points(client, make_staff, bank_member, role):
    client.force_login(make_staff(role))
    url = reverse("admin:subscriptions_member_adjust_points", args=[bank_member.pk])
    assert client.get(url).status_code == 403
    before = ledger_state(bank_member)
    _, done = adjust(client, bank_member, 10, "補填")
    assert done.status_code == 403
    assert ledger_state(bank_member) == before


# -- orders ------------------------------------------------------------------------------------


def changelist_action(client, model, action, pks, **extra):
    url = reverse(f"admin:{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": pks, **extra}, follow=True)


def test_marking_an_order_returned_claws_back_its_points_with_reason_and_staff_user(
    client, make_staff, bank_member, assert_ledger_ok
):
    agent = make_staff("cx_agent")
    client.force_login(agent)
    order = bank_member.orders.get()
    page = changelist_action(client, "subscriptions_subscriptionorder", "mark_returned", [order.pk])
    assert page.status_code == 200 and order.number in page.content.decode()  # the reason page
    changelist_action(
        client, "subscriptions_subscriptionorder", "mark_returned", [order.pk], apply="1", reason="商品破損で返品"
    )
    order.refresh_from_db()
    assert order.status == SubscriptionOrder.Status.RETURNED
    clawback = Entry.objects.get(member=bank_member, kind=Entry.Kind.CLAWBACK)
    assert (clawback.points, clawback.reason, clawback.staff_user) == (-300, "商品破損で返品", agent)
    assert LogEntry.objects.filter(user=agent, object_id=str(order.pk)).exists()
    assert points_available(member=bank_member) == 0
    assert_ledger_ok()


def test_returning_an_order_needs_a_reason(client, make_staff, bank_member, assert_ledger_ok):
    client.force_login(make_staff("cx_agent"))
    order = bank_member.orders.get()
    before = ledger_state(bank_member)
    response = changelist_action(
        client, "subscriptions_subscriptionorder", "mark_returned", [order.pk], apply="1", reason=" "
    )
    assert response.context["form"].errors
    order.refresh_from_db()
    assert order.status == SubscriptionOrder.Status.SHIPPED
    assert ledger_state(bank_member) == before
    assert_ledger_ok()


def test_ops_marks_orders_shipped_and_their_points_are_granted(
    client, make_staff, bank_member, django_capture_on_commit_callbacks, assert_ledger_ok
):
    ops = make_staff("ops")
    client.force_login(ops)
    order = OrderFactory(
        subscription=bank_member.subscriptions.get(), status=SubscriptionOrder.Status.CREATED, shipped_at=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        changelist_action(client, "subscriptions_subscriptionorder", "mark_shipped", [order.pk])
    order.refresh_from_db()
    assert order.status == SubscriptionOrder.Status.SHIPPED
    assert Lot.objects.get(order=order).amount == 18  # PV 180 × 10 %
    assert LogEntry.objects.filter(user=ops, object_id=str(order.pk)).exists()
    assert_ledger_ok()


def test_a_cx_agent_has_no_ship_action_and_ops_no_return_action(client, make_staff, bank_member):
    url = reverse("admin:subscriptions_subscriptionorder_changelist")
    client.force_login(make_staff("cx_agent"))
    actions = dict(client.get(url).context["action_form"].fields["action"].choices)
    assert "mark_returned" in actions and "mark_shipped" not in actions
    client.force_login(make_staff("ops"))
    actions = dict(client.get(url).context["action_form"].fields["action"].choices)
    assert "mark_shipped" in actions and "mark_returned" not in actions


# -- exchanges ---------------------------------------------------------------------------------


def place_url(member):
    return reverse("admin:exchange_exchange_place_for_member", args=[member.pk])


def test_an_agent_places_an_exchange_for_a_bank_member_after_the_seven_line_confirmation(
    client, make_staff, guide_bank_member, guide_products, assert_ledger_ok
):
    agent = make_staff("cx_agent")
    client.force_login(agent)
    member = guide_bank_member
    exchange_request = exchange_request_create(member=member, message="トライアルパックを1つ交換したい")
    assert client.get(place_url(member), {"request": exchange_request.pk}).status_code == 200
    reward = guide_products["reward"]
    data = {
        f"quantity_{reward.pk}": "1",
        "idempotency_key": str(uuid.uuid4()),
        "exchange_request": exchange_request.pk,
    }
    review = client.post(place_url(member), {**data, "review": "1"})
    body = review.content.decode()
    quote = review.context["quote"]
    assert (quote.points, quote.subtotal_excl_tax, quote.exchange_fee_excl_tax) == (42, 35567, 1400)
    assert (quote.handling_fee_excl_tax, quote.tax, quote.tax_by_rate, quote.total, quote.pv) == (
        0,
        2873,
        {8: 2733, 10: 140},
        38440,
        180,
    )
    for figure in ["42", "35,567", "1,400", "2,873", "2,733", "140", "38,440", "180"]:
        assert figure in body, figure
    # Without the member's agreement nothing is placed.
    client.post(place_url(member), {**data, "confirm": "1", "fingerprint": quote.fingerprint})
    assert not Exchange.objects.exists()
    done = client.post(
        place_url(member), {**data, "confirm": "1", "fingerprint": quote.fingerprint, "agreed": "1"}, follow=True
    )
    exchange = Exchange.objects.get(member=member)
    assert done.redirect_chain[-1][0] == reverse("admin:exchange_exchange_change", args=[exchange.pk])
    assert (exchange.points, exchange.total, exchange.placed_by) == (42, 38440, agent)
    # The exchange's admin page shows the tax by rate recorded with it, read-only.
    change_page = done.content.decode()
    assert "8%対象：¥36,900（税込）／¥34,167（税抜）、消費税 ¥2,733" in change_page
    assert "10%対象：¥1,540（税込）／¥1,400（税抜）、消費税 ¥140" in change_page
    assert exchange.redemption.staff_user == agent
    assert exchange.number in exchange.redemption.reason
    assert points_available(member=member) == 458
    assert LogEntry.objects.filter(user=agent, object_id=str(exchange.pk)).exists()
    exchange_request.refresh_from_db()
    assert (exchange_request.status, exchange_request.exchange, exchange_request.handled_by) == (
        ExchangeRequest.Status.DONE,
        exchange,
        agent,
    )
    # The same confirmation sent again (double click, back button) places nothing more.
    client.post(place_url(member), {**data, "confirm": "1", "fingerprint": quote.fingerprint, "agreed": "1"})
    assert Exchange.objects.count() == 1
    assert_ledger_ok()


def test_finance_reads_the_tax_by_rate_or_that_it_was_not_recorded(
    client, make_staff, guide_bank_member, guide_products
):
    staff = make_staff("cx_agent")
    reward = guide_products["reward"]
    ship_now, legacy = (
        exchange_place(
            member=guide_bank_member,
            lines=[(reward, 1)],
            ship_now=ship_now,
            idempotency_key=uuid.uuid4(),
            staff_user=staff,
        )
        for ship_now in (True, False)
    )
    legacy.tax_lines.all().delete()  # as if placed before the tax by rate was recorded
    client.force_login(make_staff("finance"))
    page = client.get(reverse("admin:exchange_exchange_change", args=[ship_now.pk])).content.decode()
    assert "10%対象：¥2,640（税込）／¥2,400（税抜）、消費税 ¥240" in page
    page = client.get(reverse("admin:exchange_exchange_change", args=[legacy.pk])).content.decode()
    assert "記録なし" in page and "¥2,873" in page


def test_an_exchange_beyond_the_members_points_is_not_placed(
    client, make_staff, guide_bank_member, guide_products, assert_ledger_ok
):
    client.force_login(make_staff("cx_agent"))
    reward = guide_products["reward"]
    before = ledger_state(guide_bank_member)
    data = {f"quantity_{reward.pk}": "12", "idempotency_key": str(uuid.uuid4())}  # 504 > 500 points
    review = client.post(place_url(guide_bank_member), {**data, "review": "1"})
    assert review.context["quote"].is_affordable is False
    # Refused before the consent step, with the shortfall: no box to tick, no button to place,
    # no negative "points left after".
    body = review.content.decode()
    assert 'name="agreed"' not in body and 'name="confirm"' not in body
    assert review.context["shortfall"] == 4
    assert "504" in body and "4 ポイント不足" in body
    assert "残りポイント" not in body  # no "points left after: -4"
    done = client.post(place_url(guide_bank_member), {**data, "confirm": "1", "agreed": "1"}, follow=True)
    assert "500" in messages_of(done)
    assert not Exchange.objects.exists()
    assert ledger_state(guide_bank_member) == before
    assert_ledger_ok()


def test_finance_cannot_place_an_exchange(client, make_staff, guide_bank_member):
    client.force_login(make_staff("finance"))
    assert client.get(place_url(guide_bank_member)).status_code == 403


def test_cancelling_an_exchange_returns_its_points_with_reason_and_staff_user(
    client, make_staff, guide_bank_member, guide_products, assert_ledger_ok
):
    agent = make_staff("cx_agent")
    client.force_login(agent)
    exchange = exchange_place(
        member=guide_bank_member,
        lines=[(guide_products["reward"], 1)],
        ship_now=False,
        idempotency_key=uuid.uuid4(),
        staff_user=agent,
    )
    assert points_available(member=guide_bank_member) == 458
    changelist_action(
        client, "exchange_exchange", "cancel_selected", [exchange.pk], apply="1", reason="会員様のご希望で取消"
    )
    exchange.refresh_from_db()
    assert exchange.status == Exchange.Status.CANCELLED
    assert (exchange.reversal.reason, exchange.reversal.staff_user) == ("会員様のご希望で取消", agent)
    assert points_available(member=guide_bank_member) == 500
    assert LogEntry.objects.filter(user=agent, object_id=str(exchange.pk)).exists()
    assert_ledger_ok()


def test_cancelling_a_shipped_exchange_is_refused_with_a_message(
    client, make_staff, guide_bank_member, guide_products, settings, assert_ledger_ok
):
    settings.LANGUAGE_CODE = "en"
    agent = make_staff("cx_agent")
    client.force_login(agent)
    exchange = exchange_place(
        member=guide_bank_member,
        lines=[(guide_products["reward"], 1)],
        ship_now=True,
        idempotency_key=uuid.uuid4(),
        staff_user=agent,
    )
    exchange_mark_shipped(exchange=exchange)
    before = ledger_state(guide_bank_member)
    done = changelist_action(
        client, "exchange_exchange", "cancel_selected", [exchange.pk], apply="1", reason="取消希望"
    )
    assert "can no longer be cancelled" in messages_of(done)
    exchange.refresh_from_db()
    assert exchange.status == Exchange.Status.SHIPPED
    assert ledger_state(guide_bank_member) == before
    assert not LogEntry.objects.exists()
    assert_ledger_ok()


def test_the_request_queue_lists_open_requests_first_and_agents_move_them_on(client, make_staff, guide_bank_member):
    agent = make_staff("cx_agent")
    client.force_login(agent)
    first = exchange_request_create(member=guide_bank_member, message="1件目")
    second = exchange_request_create(member=guide_bank_member, message="2件目")
    changelist_action(client, "exchange_exchangerequest", "mark_in_progress", [first.pk])
    first.refresh_from_db()
    assert (first.status, first.handled_by) == (ExchangeRequest.Status.IN_PROGRESS, agent)
    listed = list(client.get(reverse("admin:exchange_exchangerequest_changelist")).context["cl"].result_list)
    assert listed == [second, first]
