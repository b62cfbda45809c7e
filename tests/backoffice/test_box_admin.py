"""CX sees the box (issue 22): a second exchange for a member with a box joins it, the review
shows the whole box with one fee, and the exchange's page and the member page's timeline show
each change — who, when, points, fee."""

import uuid

import pytest
from django.urls import reverse

from exchange.models import Exchange
from exchange.services import exchange_place

pytestmark = pytest.mark.django_db


def test_an_agent_adds_to_a_members_box_and_sees_each_change_on_the_exchange_and_the_member_page(
    client, make_staff, guide_bank_member, guide_products, assert_ledger_ok
):
    member, reward = guide_bank_member, guide_products["reward"]
    agent = make_staff("cx_agent")
    client.force_login(agent)
    first = exchange_place(
        member=member, lines=[(reward, 1)], ship_now=False, idempotency_key=uuid.uuid4(), staff_user=agent
    )
    url = reverse("admin:exchange_exchange_place_for_member", args=[member.pk])
    data = {f"quantity_{reward.pk}": "2", "idempotency_key": str(uuid.uuid4())}
    review = client.post(url, {**data, "review": "1"})
    quote = review.context["quote"]
    # The box would hold 3 × 42 = 126 points: two started hundreds, one fee line; 84 more are used.
    assert (quote.points, quote.points_before, quote.points_delta, quote.fee_units, quote.total) == (
        126,
        42,
        84,
        2,
        36900 + 3080,
    )
    assert "ボックス" in review.content.decode()
    client.post(url, {**data, "confirm": "1", "fingerprint": quote.fingerprint, "agreed": "1"})
    assert Exchange.objects.filter(member=member).count() == 1
    first.refresh_from_db()
    assert (first.points, first.revision, first.total) == (126, 2, 39980)

    page = client.get(reverse("admin:exchange_exchange_change", args=[first.pk])).content.decode()
    assert "この交換の変更履歴" in page and "39,980" in page
    timeline = client.get(reverse("admin:subscriptions_member_change", args=[member.pk])).content.decode()
    assert "ボックス変更" in timeline and first.number in timeline
    assert agent.username in timeline or (agent.last_name in timeline)
    assert_ledger_ok()
