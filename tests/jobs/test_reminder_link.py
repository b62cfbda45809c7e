"""Issue 22: from the expiring-soon reminder to a placed exchange in one minute. The email suggests
a reward the member can afford and links straight to its quantity step (and to the catalogue);
a signed-out member logs in and lands where the link pointed. The browser walks it from the
email's link and counts the taps: tests/browser/test_dead_ends_22.py."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from exchange.selectors import reward_suggested
from jobs.services import reminders_run
from tests.browser.conftest import PASSWORD
from tests.factories import ProductFactory
from tests.jobs.conftest import tokyo

NOW = tokyo(2026, 3, 1, 9, 0)
SITE = "https://rewards.example"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def rewards(db):
    return {
        cost: ProductFactory(sku=f"RW-{cost}", reward=True, point_cost=cost, name_ja=f"特典{cost}")
        for cost in (42, 60, 250)
    }


def links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


def test_the_reminder_suggests_the_cheapest_affordable_reward_that_uses_the_expiring_points(member, grant, rewards):
    grant(member, 25, at=tokyo(2025, 3, 10, 9))  # expires 2026-03-10: reminded
    grant(member, 40, at=tokyo(2025, 12, 1, 9))  # 65 available
    reminders_run(now=NOW)
    (message,) = mail.outbox
    trial = rewards[42]
    assert "■ 今のポイントで交換できる特典\n特典42（♥ 42）\n特典42を交換する：" in message.body
    assert "利用可能ポイント：♥ 65" in message.body
    quantity_url = SITE + reverse("exchange:quantity", args=[trial.pk])
    assert links(message.body) == [quantity_url, SITE + reverse("exchange:catalogue")]
    html = message.alternatives[0].content
    assert f'<a href="{quantity_url}">特典42を交換する</a>' in html


def test_without_a_reward_that_covers_them_the_dearest_affordable_one_uses_the_most(member, rewards):
    assert reward_suggested(member=member, expiring_points=100, available=120) == rewards[60]
    assert reward_suggested(member=member, expiring_points=30, available=300) == rewards[42]
    assert reward_suggested(member=member, expiring_points=200, available=300) == rewards[250]


def test_nothing_affordable_no_suggestion_only_the_catalogue(member, grant, rewards):
    grant(member, 30, at=tokyo(2025, 3, 10, 9))
    reminders_run(now=NOW)
    (message,) = mail.outbox
    assert "交換できる特典\n" not in message.body and "を交換する" not in message.body
    assert links(message.body) == [SITE + reverse("exchange:catalogue")]


def test_the_link_goes_through_the_login_and_lands_where_it_pointed(client, member, rewards):
    target = reverse("exchange:quantity", args=[rewards[42].pk])
    to_login = client.get(target)
    assert to_login.status_code == 302 and to_login["Location"] == f"{reverse('login')}?next={target}"
    login_page = client.get(to_login["Location"])
    assert f'name="next" value="{target}"' in login_page.content.decode()
    signed_in = client.post(
        to_login["Location"], {"username": member.member_number, "password": PASSWORD, "next": target}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == target
