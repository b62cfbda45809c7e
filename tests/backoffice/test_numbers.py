"""Issue 23: numbers in admin read with thousands separators (12,345, not 12345), and money never
shows 「¥¥」 (the place-for-member review's bundle line did: ¥¥36,900)."""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from exchange.services import exchange_place
from jobs.models import JobRun
from ssr_points.models import Entry, Lot
from subscriptions.services import subscription_save
from tests.backoffice.test_japanese import ReadableText, admin_urls
from tests.factories import MemberFactory, ProductFactory


def readable(response) -> str:
    parser = ReadableText()
    parser.feed(response.content.decode())
    return " ".join(parser.parts)


@pytest.fixture
def big_numbers(make_staff, grant_points, guide_products):
    member = MemberFactory(name="山田 花子", name_kana="ヤマダ ハナコ")
    subscription_save(member=member, items={guide_products["sunrise"]: 1, guide_products["menta"]: 1})
    grant_points(member, 12345)
    kit = ProductFactory(reward=True, point_cost=1500, name_ja="ウェルネスキット")
    exchange = exchange_place(
        member=member, lines=[(kit, 1)], ship_now=False, idempotency_key=uuid.uuid4(), staff_user=make_staff("cx_agent")
    )
    run = JobRun.objects.create(
        kind=JobRun.Kind.EXPIRY,
        status=JobRun.Status.SUCCEEDED,
        cutoff=exchange.created_at,
        started_at=exchange.created_at,
        finished_at=exchange.created_at,
        lots=123456,
        points=1234567,
        members=23456,
        items=34567,
    )
    return {"member": member, "exchange": exchange, "run": run, "kit": kit}


@pytest.mark.parametrize("account", ["superuser", "cx_supervisor", "ops", "finance"])
def test_the_admins_lists_and_pages_write_numbers_with_thousands_separators(client, make_staff, big_numbers, account):
    client.force_login(make_staff(superuser=True) if account == "superuser" else make_staff(account))
    member, exchange, run = big_numbers["member"], big_numbers["exchange"], big_numbers["run"]
    lot = Lot.objects.get(member=member)
    entry = Entry.objects.get(member=member, kind=Entry.Kind.REDEMPTION)
    pages = {
        reverse("admin:subscriptions_member_changelist"): ["10,845"],  # available: 12,345 − 1,500
        reverse("admin:subscriptions_member_change", args=[member.pk]): ["10,845", "12,345", "1,500"],
        reverse("admin:jobs_jobrun_changelist"): ["123,456", "1,234,567", "23,456", "34,567"],
        reverse("admin:jobs_jobrun_change", args=[run.pk]): ["123,456", "1,234,567", "23,456", "34,567"],
        reverse("admin:ssr_points_lot_changelist"): ["12,345", "10,845"],
        reverse("admin:ssr_points_lot_change", args=[lot.pk]): ["12,345", "10,845"],
        reverse("admin:ssr_points_entry_changelist"): ["12,345", "1,500"],
        reverse("admin:ssr_points_entry_change", args=[entry.pk]): ["1,500"],
        reverse("admin:ssr_points_pointaccount_changelist"): ["10,845"],
        reverse("admin:exchange_exchange_changelist"): ["1,500"],
        reverse("admin:exchange_exchange_change", args=[exchange.pk]): ["1,500"],
        reverse("admin:subscriptions_product_changelist"): ["1,500"],
    }
    opened = 0
    for url, figures in pages.items():
        response = client.get(url)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, url
        opened += 1
        text = readable(response)
        for figure in figures:
            assert figure in text, (url, figure)
            assert figure.replace(",", "") not in text.replace(figure, ""), (url, figure)
    assert opened >= 4


def test_money_never_shows_two_yen_signs_on_any_admin_page(client, make_staff, big_numbers, guide_products):
    client.force_login(make_staff(superuser=True))
    member = big_numbers["member"]
    responses = [client.get(url, follow=True) for url in admin_urls(member)]
    responses.append(  # 代理でポイント交換's review: the seven lines and the bundle's line
        client.post(
            reverse("admin:exchange_exchange_place_for_member", args=[member.pk]),
            {f"quantity_{guide_products['reward'].pk}": "1", "idempotency_key": str(uuid.uuid4()), "review": "1"},
        )
    )
    assert responses[-1].context["quote"] is not None
    for response in responses:
        body = response.content.decode()
        assert "¥¥" not in body and "¥ ¥" not in body, response.request["PATH_INFO"]
    assert "¥36,900（税込）" in responses[-1].content.decode()


def test_the_ledger_check_page_groups_its_counts(client, make_staff, db):
    now = timezone.now()
    JobRun.objects.create(
        kind=JobRun.Kind.LEDGER_CHECK,
        status=JobRun.Status.SUCCEEDED,
        cutoff=now,
        started_at=now,
        finished_at=now,
        members=23456,
    )
    client.force_login(make_staff("finance"))
    text = readable(client.get(reverse("admin:ledger_check")))
    assert "23,456" in text and "23456" not in text
