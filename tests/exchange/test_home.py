"""Issue 11 items 11, 12, 14 on the home page: earn progress, the expiring-soon banner, the
history filters and the products of each exchange."""

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from exchange.home import exchange_products, exchange_products_text
from exchange.services import exchange_cancel, exchange_place
from ssr_points.batches import points_expire_due
from ssr_points.models import Lot
from ssr_points.selectors import earn_progress, entries_history, points_expiring_soon
from ssr_points.services import points_adjust
from subscriptions.pagination import page_of
from tests.factories import MemberFactory, ProductFactory, StaffUserFactory


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


def figure(response, name: str) -> str:
    return re.search(rf'data-figure="{name}">(.*?)</', response.content.decode(), flags=re.S).group(1).strip()


@pytest.mark.parametrize(
    "months, current, next_rate, step_rate, step_month, months_ahead",
    [
        (0, 10, 10, 15, 4, 3),  # new: the first order is month 1; 15 % from month 4
        (2, 10, 10, 15, 4, 1),
        (3, 10, 15, 15, 4, 0),  # the next order itself brings 15 %
        (4, 15, 15, 20, 7, 2),
        (13, 30, 30, None, None, None),  # the top rate
    ],
)
def test_earn_progress_follows_the_schedule(
    guide_member, months, current, next_rate, step_rate, step_month, months_ahead
):
    subscription = guide_member.subscriptions.get()
    subscription.months_subscribed = months
    subscription.next_shipment_date = dt.date(2027, 1, 31)
    subscription.save()
    progress = earn_progress(member=guide_member)
    assert (progress.current_rate, progress.next_order_rate) == (current, next_rate)
    assert progress.next_order_points == 180 * next_rate // 100  # the guide's PV 180
    assert (progress.next_step_rate, progress.next_step_month) == (step_rate, step_month)
    if months_ahead is not None:
        # Monthly from 31 January as the subscription moves (shipment_date_next): 28 Feb, 28 Mar, 28 Apr.
        expected = [dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 28), dt.date(2027, 4, 28)][
            months_ahead
        ]
        assert progress.next_step_starts_on == expected


def months_subscribed_set(member, months: int):
    """The member's subscription ``months`` in, next shipping on 10 January 2027."""
    subscription = member.subscriptions.get()
    subscription.months_subscribed = months
    subscription.next_shipment_date = dt.date(2027, 1, 10)
    subscription.save()
    return subscription


def test_home_shows_the_earn_progress(client, guide_member):
    months_subscribed_set(guide_member, 4)
    client.force_login(guide_member.user)
    response = client.get(reverse("home"))
    assert figure(response, "months") == "4か月"
    assert figure(response, "rate") == "15%"
    assert figure(response, "next-order") == "2027年1月10日"
    assert figure(response, "next-points") == "♥ 27"  # floor(180 × 15 %)
    assert figure(response, "next-step") == "2027年3月10日のお届け（定期購入7か月目）から還元率が20%になります。"


def test_the_earn_progress_reads_in_english_with_its_plural_and_the_top_rate(client, guide_member):
    """The section is written in Python (ssr_points/display.py) from the template's messages."""
    subscription = months_subscribed_set(guide_member, 1)
    client.force_login(guide_member.user)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert (figure(response, "months"), figure(response, "rate")) == ("1 month", "10%")
    assert figure(response, "next-order") == "Jan. 10, 2027"
    step = "From your order of March 10, 2027 (month 4 of your subscription) you earn 15%."
    assert figure(response, "next-step") == step
    assert "its PV (180 for your next order) × the earn rate" in text(response)

    subscription.months_subscribed = 13
    subscription.save()
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert figure(response, "months") == "13 months"
    assert 'data-figure="next-step"' not in response.content.decode()
    assert "You have reached the highest earn rate." in text(response)


def test_a_member_without_a_subscription_is_told_how_to_start_earning(client, db):
    member = MemberFactory()
    client.force_login(member.user)
    assert "定期購入を追加すると、ポイントがたまり始めます" in text(client.get(reverse("home")))


def test_the_banner_shows_points_expiring_within_60_days_and_the_first_last_day(client, guide_member):
    now = timezone.now()
    staff = StaffUserFactory()
    soon = points_adjust(member=guide_member, points=30, reason="a", staff_user=staff, now=now - dt.timedelta(days=320))
    later = points_adjust(
        member=guide_member, points=40, reason="b", staff_user=staff, now=now - dt.timedelta(days=310)
    )
    points_adjust(member=guide_member, points=50, reason="c", staff_user=staff, now=now - dt.timedelta(days=200))
    client.force_login(guide_member.user)
    page = text(client.get(reverse("home")))
    first = timezone.localtime(Lot.objects.get(entries=soon).expires_at) - dt.timedelta(days=1)
    assert Lot.objects.get(entries=later).expires_at - now < dt.timedelta(days=60)
    day = f"{first.year}年{first.month}月{first.day}日"
    assert f"60日以内に ♥ 70 のポイントが失効します。最も早いものは{day}まで有効です。" in page


def test_the_banner_window_is_exactly_60_days(guide_member):
    now = timezone.now()
    lot = Lot(remaining=5, expires_at=now + dt.timedelta(days=60))
    assert points_expiring_soon(lots=[lot], at=now).points == 5
    assert points_expiring_soon(lots=[lot], at=now - dt.timedelta(seconds=1)) is None
    assert points_expiring_soon(lots=[], at=now) is None


def test_no_banner_without_points_expiring_soon(client, guide_member):
    client.force_login(guide_member.user)
    assert "まもなく失効するポイント" not in text(client.get(reverse("home")))


def test_history_filters_and_the_products_of_each_exchange(client, guide_member, guide_catalogue):
    staff = StaffUserFactory()
    old = timezone.now() - dt.timedelta(days=400)
    points_adjust(member=guide_member, points=7, reason="昔のポイント", staff_user=staff, now=old)
    points_expire_due(at=timezone.now())
    exchange = exchange_place(
        member=guide_member, lines=[(guide_catalogue["reward"], 2)], ship_now=False, idempotency_key=uuid.uuid4()
    )
    exchange_cancel(exchange=exchange)
    client.force_login(guide_member.user)
    name = guide_catalogue["reward"].name_ja

    def kinds(show):
        response = client.get(reverse("home"), {"show": show} if show else {})
        return re.findall(r'class="ledger-kind">([^<]+)<', response.content.decode()), text(response)

    everything, page = kinds("")
    assert sorted(everything) == sorted(["調整", "調整", "失効", "利用", "返還"])
    assert page.count(f"{name} × 2") == 2  # the redemption and its reversal name the product
    assert kinds("earned")[0] == ["調整", "調整"]
    assert sorted(kinds("used")[0]) == ["利用", "返還"]
    assert kinds("expired")[0] == ["失効"]
    assert kinds("nonsense")[0] == everything  # an unknown filter shows everything


def test_an_exchange_of_two_products_names_both_in_the_history(client, guide_member, guide_catalogue):
    """The history's product text: by SKU, with 「、」."""
    other = two_product_exchange(guide_member, guide_catalogue)
    client.force_login(guide_member.user)
    products = re.findall(r'class="ledger-products">([^<]+)<', client.get(reverse("home")).content.decode())
    assert products == [f"{other.name_ja} × 1、{guide_catalogue['reward'].name_ja} × 2"]


def two_product_exchange(member, catalogue):
    other = ProductFactory(sku="RW-10", reward=True, point_cost=10, tax_rate=8)
    exchange_place(
        member=member, lines=[(catalogue["reward"], 2), (other, 1)], ship_now=False, idempotency_key=uuid.uuid4()
    )
    return other


@pytest.mark.parametrize("language, name", [("ja", "name_ja"), ("en", "name_en")])
@pytest.mark.parametrize("show", [None, "used"])
def test_a_page_of_history_reads_its_length_and_each_exchanges_products_in_one_query(
    guide_member, guide_catalogue, language, name, show
):
    """exchange/home.py: the page's entries, the history's length and the products of each
    exchange (in SKU order, the active language's names) come from one query, on every database."""
    other = two_product_exchange(guide_member, guide_catalogue)
    reward = guide_catalogue["reward"]
    with translation.override(language), CaptureQueriesContext(connection) as queries:
        entries = entries_history(member=guide_member, show=show).annotate(exchange_products=exchange_products())
        page = page_of(entries, number="1", per_page=20)
        lengths = page.paginator.count, len(page.object_list)
    assert len(queries) == 1
    assert lengths == (entries.count(),) * 2
    texts = {entry.kind: exchange_products_text(entry.exchange_products) for entry in page.object_list}
    assert texts["redemption"] == f"{getattr(other, name)} × 1、{getattr(reward, name)} × 2"
    assert all(text == "" for kind, text in texts.items() if kind != "redemption")


def test_a_page_past_the_end_shows_the_last_page(guide_member, guide_catalogue):
    two_product_exchange(guide_member, guide_catalogue)
    entries = entries_history(member=guide_member)
    page = page_of(entries, number="9", per_page=1)
    assert page.number == page.paginator.num_pages == entries.count()
    assert list(page.object_list) == [entries.last()]


def test_a_short_history_lists_each_entry_dated_in_the_market_time_zone(client, guide_member):
    """Fewer entries than a page; an entry made at
    00:30 in Tokyo is dated that day, and its lot is valid until the day before it expires."""
    tokyo_half_past_midnight = dt.datetime(2026, 3, 31, 15, 30, tzinfo=dt.UTC)
    points_adjust(
        member=guide_member, points=3, reason="深夜の調整", staff_user=StaffUserFactory(), now=tokyo_half_past_midnight
    )
    client.force_login(guide_member.user)
    page = client.get(reverse("home")).content.decode()
    dates = re.findall(r'class="ledger-date">([^<]+)<', page)
    assert len(dates) == 2 and "2026年4月1日" in dates
    assert "♥ 3" in page and "2027年3月31日まで有効" in page  # the lot: expires 2027-04-01 00:00 JST


def test_a_staff_note_with_markup_is_shown_as_text_in_the_history(client, guide_member):
    """What staff typed is escaped in the history, never markup."""
    points_adjust(
        member=guide_member, points=5, reason='<script>alert("x")</script> & 調整', staff_user=StaffUserFactory()
    )
    client.force_login(guide_member.user)
    page = client.get(reverse("home")).content.decode()
    reasons = re.findall(r'class="ledger-reason">(.*?)</span>\n', page)
    assert any("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 調整" in reason for reason in reasons)
    assert "<script>alert" not in page
