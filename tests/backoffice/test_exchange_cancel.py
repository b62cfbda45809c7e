"""Issue 23: a cancel button on the exchange's own admin page; the reason the form says the member
reads is shown to the member (the exchange's page and the cancellation email), and where the
member does not read it (an order marked returned) the label says so; the email of an exchange
placed by Customer Experience says so."""

import uuid

import pytest
from django.core import mail
from django.urls import reverse

from exchange.models import Exchange
from exchange.services import exchange_cancel, exchange_mark_shipped, exchange_place
from ssr_points.selectors import points_available

REASON = "在庫切れのため、ご連絡のうえキャンセルしました"


@pytest.fixture
def placed(guide_bank_member, guide_products, make_staff):
    return exchange_place(
        member=guide_bank_member,
        lines=[(guide_products["reward"], 1)],
        ship_now=False,
        idempotency_key=uuid.uuid4(),
        staff_user=make_staff("cx_agent"),
    )


@pytest.mark.parametrize("role", ["cx_agent", "cx_supervisor", "ops", "finance", "superuser"])
def test_the_exchange_page_has_a_cancel_button_for_the_roles_that_may_cancel(client, make_staff, placed, role):
    user = make_staff(superuser=True) if role == "superuser" else make_staff(role)
    client.force_login(user)
    page = client.get(reverse("admin:exchange_exchange_change", args=[placed.pk]))
    assert page.status_code == 200
    can_cancel = user.has_perm("exchange.cancel_exchange")
    assert ('id="cancel-exchange-link"' in page.content.decode()) == can_cancel
    cancel_page = client.get(reverse("admin:exchange_exchange_cancel", args=[placed.pk]))
    assert cancel_page.status_code == (200 if can_cancel else 403)


def test_an_agent_cancels_from_the_exchange_page_with_a_reason_the_member_then_reads(
    client, make_staff, placed, django_capture_on_commit_callbacks, assert_ledger_ok
):
    member = placed.member
    before = points_available(member=member)
    client.force_login(make_staff("cx_agent"))
    url = reverse("admin:exchange_exchange_cancel", args=[placed.pk])
    page = client.get(url)
    assert "会員が交換の詳細ページとキャンセルのメールで読みます" in page.content.decode()  # who reads it

    refused = client.post(url, {"reason": "  ", "apply": "1"})
    assert refused.status_code == 200 and Exchange.objects.get(pk=placed.pk).status == Exchange.Status.PLACED

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"reason": REASON, "apply": "1"})
    assert done.status_code == 302 and done.url == reverse("admin:exchange_exchange_change", args=[placed.pk])
    assert Exchange.objects.get(pk=placed.pk).status == Exchange.Status.CANCELLED
    assert points_available(member=member) == before + placed.points
    # The page has no cancel button any more.
    assert 'id="cancel-exchange-link"' not in client.get(done.url).content.decode()

    (email,) = mail.outbox
    assert email.to == [member.user.email] and REASON in email.body and REASON in email.alternatives[0].content
    client.force_login(member.user)
    detail = client.get(reverse("exchange:detail", args=[placed.number]))
    assert "カスタマーエクスペリエンスからの理由" in detail.content.decode() and REASON in detail.content.decode()
    assert_ledger_ok()


def test_an_exchange_the_member_cancelled_shows_no_staff_reason(client, placed):
    exchange_cancel(exchange=placed)
    client.force_login(placed.member.user)
    detail = client.get(reverse("exchange:detail", args=[placed.number])).content.decode()
    assert "カスタマーエクスペリエンスからの理由" not in detail


def test_a_shipped_exchange_has_no_cancel_button_and_its_cancel_page_says_why(client, make_staff, placed):
    exchange_mark_shipped(exchange=placed)
    client.force_login(make_staff("cx_agent"))
    page = client.get(reverse("admin:exchange_exchange_change", args=[placed.pk]))
    assert 'id="cancel-exchange-link"' not in page.content.decode()
    response = client.get(reverse("admin:exchange_exchange_cancel", args=[placed.pk]), follow=True)
    assert placed.number in response.content.decode() and "キャンセルできません" in response.content.decode()
    assert Exchange.objects.get(pk=placed.pk).status == Exchange.Status.SHIPPED


def test_the_returned_orders_reason_says_the_member_does_not_read_it(client, make_staff, bank_member):
    client.force_login(make_staff("cx_agent"))
    order = bank_member.orders.get()
    page = client.post(
        reverse("admin:subscriptions_subscriptionorder_changelist"),
        {"action": "mark_returned", "_selected_action": [order.pk]},
    )
    assert "スタッフ用にポイント記録に残ります" in page.content.decode()


def test_the_email_of_an_exchange_placed_by_customer_experience_says_so(
    client, make_staff, guide_bank_member, guide_products, django_capture_on_commit_callbacks
):
    client.force_login(make_staff("cx_agent"))
    url = reverse("admin:exchange_exchange_place_for_member", args=[guide_bank_member.pk])
    data = {f"quantity_{guide_products['reward'].pk}": "1", "idempotency_key": str(uuid.uuid4())}
    review = client.post(url, {**data, "review": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {**data, "fingerprint": review.context["quote"].fingerprint, "agreed": "1", "confirm": "1"})
    (email,) = mail.outbox
    said = "カスタマーエクスペリエンスが代理でお申し込みしました"
    assert said in email.body and said in email.alternatives[0].content


def test_the_email_of_an_exchange_the_member_placed_does_not_say_so(guide_products, django_capture_on_commit_callbacks):
    from subscriptions.services import subscription_save
    from tests.factories import MemberFactory

    member = MemberFactory()
    subscription_save(member=member, items={guide_products["sunrise"]: 1})
    from ssr_points.services import points_adjust
    from tests.factories import StaffUserFactory

    points_adjust(member=member, points=100, reason="テスト", staff_user=StaffUserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        exchange_place(
            member=member, lines=[(guide_products["reward"], 1)], ship_now=False, idempotency_key=uuid.uuid4()
        )
    (email,) = mail.outbox
    assert "代理でお申し込み" not in email.body
