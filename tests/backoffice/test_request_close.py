"""Issue 23: closing a bank-transfer member's request without an exchange asks for a reason and
tells the member — by email and on their exchange page; the member page's timeline shows it."""

import pytest
from django.core import mail
from django.urls import reverse

from exchange.exceptions import CloseReasonRequired
from exchange.models import ExchangeRequest
from exchange.services import exchange_request_create, exchange_request_handle

REASON = "お電話で確認し、次回の定期購入に追加するご希望でしたので完了としました。"


def close(client, requests, **data):
    return client.post(
        reverse("admin:exchange_exchangerequest_changelist"),
        {"action": "close_without_exchange", "_selected_action": [r.pk for r in requests], **data},
    )


@pytest.fixture
def open_request(guide_bank_member):
    return exchange_request_create(member=guide_bank_member, message="トライアルパックに交換したい")


def test_closing_without_an_exchange_asks_for_the_reason_the_member_is_told(
    client, make_staff, open_request, django_capture_on_commit_callbacks
):
    agent = make_staff("cx_agent")
    client.force_login(agent)
    page = close(client, [open_request])
    body = page.content.decode()
    assert page.status_code == 200 and "会員にメールで送られ" in body  # the label says who reads it
    empty = close(client, [open_request], reason=" ", apply="1")
    assert empty.status_code == 200
    open_request.refresh_from_db()
    assert open_request.status == ExchangeRequest.Status.OPEN and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        close(client, [open_request], reason=REASON, apply="1")
    open_request.refresh_from_db()
    assert (open_request.status, open_request.close_reason, open_request.handled_by) == (
        ExchangeRequest.Status.CLOSED,
        REASON,
        agent,
    )
    (email,) = mail.outbox
    member = open_request.member
    assert email.to == [member.user.email]
    assert REASON in email.body and REASON in email.alternatives[0].content
    assert "ポイントは使われていません" in email.body

    # The member reads it on their exchange page (bank transfer: the Customer Experience page).
    client.force_login(member.user)
    cx_page = client.get(reverse("exchange:catalogue")).content.decode()
    assert "カスタマーエクスペリエンスからの理由" in cx_page and REASON in cx_page

    # And the agent on the next call, in the member page's timeline.
    client.force_login(agent)
    member_page = client.get(reverse("admin:subscriptions_member_change", args=[member.pk])).content.decode()
    assert "会員に伝えた理由" in member_page and REASON[:20] in member_page


def test_done_or_closed_requests_are_not_closed_again(client, make_staff, open_request):
    client.force_login(make_staff("cx_agent"))
    exchange_request_handle(
        exchange_request=open_request, status=ExchangeRequest.Status.CLOSED, staff_user=None, reason="前の理由"
    )
    response = close(client, [open_request], reason="新しい理由", apply="1")
    assert response.status_code == 302
    open_request.refresh_from_db()
    assert open_request.close_reason == "前の理由"


def test_the_service_refuses_to_close_without_a_reason(open_request, make_staff):
    with pytest.raises(CloseReasonRequired):
        exchange_request_handle(
            exchange_request=open_request, status=ExchangeRequest.Status.CLOSED, staff_user=make_staff("cx_agent")
        )
    open_request.refresh_from_db()
    assert open_request.status == ExchangeRequest.Status.OPEN


@pytest.mark.parametrize("role", ["ops", "finance"])
def test_roles_that_do_not_work_the_queue_cannot_close(client, make_staff, open_request, role):
    client.force_login(make_staff(role))
    close(client, [open_request], reason=REASON, apply="1")
    open_request.refresh_from_db()
    assert open_request.status == ExchangeRequest.Status.OPEN
