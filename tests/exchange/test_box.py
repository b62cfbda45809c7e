"""One box, one bundle (docs/member-site.md, "One box"): rewards for the same bundled shipment live
in one exchange, with one exchange fee over all of its points; a change redeems or returns only the
difference, to and from the lots it came from; each change is a receipt of its own."""

import datetime as dt
import re
import uuid

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from exchange.exceptions import BoxChanged, BoxClosed
from exchange.models import Exchange, ExchangeChange, ExchangeLine
from exchange.selectors import box_of
from exchange.services import exchange_cancel, exchange_place
from ssr_points.models import Allocation, Entry
from ssr_points.selectors import points_available
from ssr_points.services import points_adjust
from subscriptions.models import Subscription
from subscriptions.services import subscription_save
from tests.factories import MemberFactory, ProductFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shaker(guide_catalogue):
    return ProductFactory(sku="RW-60", reward=True, point_cost=60, tax_rate=10)


def box_set(member, quantities: dict, *, revision="current", **kwargs) -> Exchange:
    """The wizard's placing: ``quantities`` are the whole box as it is to stand."""
    if revision == "current":
        box = box_of(member=member)
        revision = box.revision if box else None
    lines = [(product, quantity) for product, quantity in quantities.items()]
    return exchange_place(
        member=member, lines=lines, ship_now=False, idempotency_key=uuid.uuid4(), box_revision=revision, **kwargs
    )


def figures(exchange: Exchange) -> tuple:
    exchange.refresh_from_db()
    return (
        exchange.points,
        exchange.fee_units,
        exchange.exchange_fee_excl_tax,
        exchange.handling_fee_excl_tax,
        exchange.subtotal_excl_tax,
        exchange.tax,
        exchange.total,
        exchange.charge_incl_tax,
        sorted((line.rate, line.amount_incl_tax, line.tax) for line in exchange.tax_lines.all()),
    )


def test_two_three_and_removed_rewards_are_one_box_with_one_fee_exact_to_the_yen(
    guide_member, guide_catalogue, shaker, assert_ledger_ok
):
    reward = guide_catalogue["reward"]
    box = box_set(guide_member, {reward: 1})
    # The guide's figures: ♥42, subtotal ¥35,567, fee ¥1,400, shipping ¥0, tax ¥2,873, total ¥38,440.
    assert figures(box) == (42, 1, 1400, 0, 35567, 2873, 38440, 1540, [(8, 36900, 2733), (10, 1540, 140)])

    # A second 42 in the same box: 84 points are still one started 100 — one fee, the total unchanged.
    assert box_set(guide_member, {reward: 2}).pk == box.pk
    assert figures(box) == (84, 1, 1400, 0, 35567, 2873, 38440, 1540, [(8, 36900, 2733), (10, 1540, 140)])

    # Three rewards, 144 points: two units, ¥2,800 + 10 % = ¥3,080; tax 2,733 + 280; total counted once.
    box_set(guide_member, {reward: 2, shaker: 1})
    assert figures(box) == (144, 2, 2800, 0, 36967, 3013, 39980, 3080, [(8, 36900, 2733), (10, 3080, 280)])

    # One 42 taken out: 102 points, still two units.
    box_set(guide_member, {reward: 1, shaker: 1})
    assert figures(box) == (102, 2, 2800, 0, 36967, 3013, 39980, 3080, [(8, 36900, 2733), (10, 3080, 280)])

    # The shaker taken out: back to the guide's box.
    box_set(guide_member, {reward: 1})
    assert figures(box) == (42, 1, 1400, 0, 35567, 2873, 38440, 1540, [(8, 36900, 2733), (10, 1540, 140)])

    assert Exchange.objects.filter(member=guide_member).count() == 1
    assert points_available(member=guide_member) == 500 - 42
    assert list(box.changes.values_list("revision", "kind", "points_before", "points")) == [
        (1, "placed", 0, 42),
        (2, "changed", 42, 84),
        (3, "changed", 84, 144),
        (4, "changed", 144, 102),
        (5, "changed", 102, 42),
    ]
    assert [(line["sku"], line["quantity"]) for line in box.changes.get(revision=3).lines] == [
        ("RW-42", 2),
        ("RW-60", 1),
    ]
    assert_ledger_ok()


def test_only_the_difference_is_redeemed_and_points_taken_out_go_back_to_their_own_lots(
    guide_catalogue, shaker, assert_ledger_ok
):
    """Two lots expiring a month apart: FIFO takes the sooner first, a removal gives back the
    points taken last, so what stays redeemed is what FIFO takes for the smaller box."""
    member = MemberFactory()
    subscription_save(member=member, items={guide_catalogue["sunrise"]: 1, guide_catalogue["menta"]: 1})
    staff, now = StaffUserFactory(), timezone.now()
    soon = points_adjust(
        member=member, points=50, reason="先の付与", staff_user=staff, now=now - dt.timedelta(days=60)
    ).lot
    later = points_adjust(
        member=member, points=100, reason="後の付与", staff_user=staff, now=now - dt.timedelta(days=30)
    ).lot

    reward = guide_catalogue["reward"]
    box = box_set(member, {reward: 1})  # 42 from the sooner lot
    box_set(member, {reward: 1, shaker: 1})  # 60 more: 8 from the sooner lot, 52 from the later
    soon.refresh_from_db(), later.refresh_from_db()
    assert (soon.remaining, later.remaining) == (0, 48)
    redemptions = list(Entry.objects.filter(member=member, kind="redemption", reference=box.number).order_by("pk"))
    assert [entry.points for entry in redemptions] == [-42, -60]

    box_set(member, {reward: 1})  # the shaker out: its 60 go back where they came from
    soon.refresh_from_db(), later.refresh_from_db()
    assert (soon.remaining, later.remaining) == (8, 100)
    reversal = Entry.objects.get(member=member, kind="reversal")
    assert (reversal.points, reversal.reverses_id) == (60, redemptions[1].pk)
    assert sorted(Allocation.objects.filter(entry=reversal).values_list("lot_id", "points")) == sorted(
        [(soon.pk, -8), (later.pk, -52)]
    )
    assert points_available(member=member) == 150 - 42
    assert_ledger_ok()


def test_a_change_is_idempotent_and_a_second_tab_places_nothing(guide_member, guide_catalogue, shaker):
    reward = guide_catalogue["reward"]
    box = box_set(guide_member, {reward: 1})
    key = uuid.uuid4()
    kwargs = {"member": guide_member, "ship_now": False, "idempotency_key": key, "box_revision": 1}
    assert exchange_place(lines=[(reward, 2)], **kwargs).pk == box.pk
    assert exchange_place(lines=[(reward, 2)], **kwargs).pk == box.pk  # the same tap again
    box.refresh_from_db()
    assert (box.revision, box.points) == (2, 84)
    # A second tab opened at revision 1 asks for the shaker: the box changed meanwhile.
    with pytest.raises(BoxChanged):
        box_set(guide_member, {reward: 1, shaker: 1}, revision=1)
    box.refresh_from_db()
    assert (box.revision, box.points) == (2, 84)
    assert ExchangeChange.objects.filter(exchange=box).count() == 2
    assert points_available(member=guide_member) == 500 - 84


def test_after_the_cut_off_the_box_is_closed_with_its_date(guide_member, guide_catalogue):
    reward = guide_catalogue["reward"]
    box = box_set(guide_member, {reward: 1})
    subscription = Subscription.objects.get(member=guide_member)
    today = timezone.localdate(timezone.now(), guide_member.market.zone)
    subscription.next_shipment_date = today + dt.timedelta(days=1)  # today is the last day
    subscription.save()
    box_set(guide_member, {reward: 2})
    subscription.next_shipment_date = today  # the shipment day: yesterday was the last
    subscription.save()
    with pytest.raises(BoxClosed) as closed:
        box_set(guide_member, {reward: 3})
    assert f"{today.month}月{today.day}日" in str(closed.value)
    box.refresh_from_db()
    assert box.points == 84
    # Apply now is its own shipment, and still open.
    apart = exchange_place(member=guide_member, lines=[(reward, 1)], ship_now=True, idempotency_key=uuid.uuid4())
    assert apart.pk != box.pk and apart.handling_fee_excl_tax > 0


def test_apply_now_stays_its_own_shipment_and_cx_adds_to_the_box(guide_member, guide_catalogue, shaker):
    reward = guide_catalogue["reward"]
    box = box_set(guide_member, {reward: 1})
    apart = exchange_place(member=guide_member, lines=[(shaker, 1)], ship_now=True, idempotency_key=uuid.uuid4())
    assert apart.pk != box.pk and apart.points == 60 and apart.fee_units == 1
    staff = StaffUserFactory(is_superuser=True)
    by_cx = exchange_place(
        member=guide_member, lines=[(shaker, 1)], ship_now=False, idempotency_key=uuid.uuid4(), staff_user=staff
    )
    assert by_cx.pk == box.pk
    box.refresh_from_db()
    assert (box.points, box.fee_units, box.total) == (102, 2, 39980)
    assert box.changes.get(revision=2).staff_user == staff


def test_the_email_after_a_change_shows_the_box_as_it_now_stands(
    guide_member, guide_catalogue, shaker, django_capture_on_commit_callbacks
):
    reward = guide_catalogue["reward"]
    with django_capture_on_commit_callbacks(execute=True):
        box_set(guide_member, {reward: 1})
    with django_capture_on_commit_callbacks(execute=True):
        box_set(guide_member, {reward: 1, shaker: 1})
    changed = mail.outbox[-1]
    assert "変更" in changed.subject
    assert f"{shaker.name_ja} × 1" in changed.body and f"{reward.name_ja} × 1" in changed.body
    assert "¥39,980" in changed.body and "♥ 60" in changed.body


def test_cancelling_a_changed_box_returns_every_point_it_holds(guide_member, guide_catalogue, shaker, assert_ledger_ok):
    reward = guide_catalogue["reward"]
    box = box_set(guide_member, {reward: 1})
    box_set(guide_member, {reward: 2, shaker: 1})
    box_set(guide_member, {reward: 1, shaker: 1})
    exchange_cancel(exchange=box)
    box.refresh_from_db()
    assert box.status == Exchange.Status.CANCELLED
    assert points_available(member=guide_member) == 500
    assert box.changes.last().kind == "cancelled"
    assert_ledger_ok()


def test_the_cancel_page_and_email_of_a_changed_box_say_what_it_holds_lot_by_lot(
    client, guide_member, guide_catalogue, shaker, assert_ledger_ok, django_capture_on_commit_callbacks
):
    reward = guide_catalogue["reward"]
    staff = StaffUserFactory()
    now = timezone.now()
    # Two lots that end before the member's 500: the box's points come from them first.
    early = points_adjust(
        member=guide_member, points=30, reason="a", staff_user=staff, now=now - dt.timedelta(days=300)
    )
    later = points_adjust(
        member=guide_member, points=100, reason="b", staff_user=staff, now=now - dt.timedelta(days=200)
    )
    box = box_set(guide_member, {reward: 1})  # 42: 30 early, 12 later
    box_set(guide_member, {reward: 2, shaker: 1})  # +102: 88 later, 14 of the 500
    box_set(guide_member, {reward: 1, shaker: 1})  # −42: 14 of the 500, 28 later
    # What the box holds now: 30 early, 72 later = 102 points.
    held = [(early.lot.expires_at, 30), (later.lot.expires_at, 72)]

    def lines(expiries_points):
        return [f"{last_day(expires_at)}まで有効 ♥ {points}" for expires_at, points in expiries_points]

    client.force_login(guide_member.user)
    page = page_text(client.get(reverse("exchange:cancel", args=[box.number])))
    for line in lines(held):
        assert line in page
    assert page.count("まで有効") == 2

    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("exchange:cancel", args=[box.number]))
    box.refresh_from_db()
    assert box.status == Exchange.Status.CANCELLED and points_available(member=guide_member) == 630
    email = mail.outbox[-1].body
    for expires_at, points in held:
        assert f"♥ {points}  {last_day(expires_at)}まで有効" in email
    assert email.count("まで有効") == 2
    assert_ledger_ok()


def test_exchanges_placed_before_boxes_keep_their_figures_and_the_newest_is_the_box(guide_member, guide_catalogue):
    """What migration exchange/0006 leaves: each earlier open exchange with its own fee; changes edit the newest."""
    reward = guide_catalogue["reward"]
    older = exchange_place(member=guide_member, lines=[(reward, 1)], ship_now=False, idempotency_key=uuid.uuid4())
    newer = exchange_place(member=guide_member, lines=[(reward, 1)], ship_now=False, idempotency_key=uuid.uuid4())
    assert newer.pk == older.pk  # today two placings make one box …
    # … so make the data of before: a second open bundled exchange of the same shipment.
    Exchange.objects.filter(pk=older.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    legacy = Exchange.objects.get(pk=older.pk)
    legacy.pk, legacy.number, legacy.idempotency_key = None, "EX-LEGACY01", uuid.uuid4()
    legacy.redemption = Entry.objects.filter(member=guide_member, kind="redemption").first()
    legacy.created_at = timezone.now() - dt.timedelta(days=3)
    legacy.save()
    ExchangeLine.objects.create(
        member=guide_member, exchange=legacy, product=reward, quantity=1, unit_points=42, tax_rate=8
    )
    box = box_of(member=guide_member)
    assert box.exchange.pk == older.pk and [exchange.number for exchange in box.earlier] == ["EX-LEGACY01"]
    before = figures(Exchange.objects.get(number="EX-LEGACY01"))
    box_set(guide_member, {reward: 3})
    assert figures(Exchange.objects.get(number="EX-LEGACY01")) == before
    assert Exchange.objects.get(pk=older.pk).points == 126


# -- through the member's pages ---------------------------------------------------------------------


def last_day(expires_at) -> str:
    day = (timezone.localtime(expires_at) - dt.timedelta(days=1)).date()
    return f"{day.year}年{day.month}月{day.day}日"


def page_figure(response, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', response.content.decode())
    assert match, f"no figure {name}"
    return match.group(1).strip()


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def add(client, product, quantity):
    response = client.post(reverse("exchange:quantity", args=[product.pk]), {"quantity": quantity, "action": "save"})
    assert response.status_code == 302, page_text(response)


def confirm(client, **overrides):
    page = client.get(reverse("exchange:confirm"))
    assert page.status_code == 200, page_text(page)
    data = {
        name: re.search(rf'name="{name}" value="([^"]*)"', page.content.decode()).group(1)
        for name in ("idempotency_key", "fingerprint")
    }
    return page, client.post(reverse("exchange:confirm"), {**data, "agree": "on", **overrides})


def test_a_member_who_comes_back_sees_the_box_adds_to_it_and_agrees_to_the_whole_box(
    client, guide_member, guide_catalogue, shaker, assert_ledger_ok
):
    client.force_login(guide_member.user)
    reward = guide_catalogue["reward"]
    add(client, reward, 1)
    _, placed = confirm(client)
    assert placed.status_code == 302
    box = Exchange.objects.get(member=guide_member)

    # Back before the cut-off: the catalogue, the bundle and home show what is in the box.
    catalogue = client.get(reverse("exchange:catalogue"))
    assert "ボックスに × 1" in page_text(catalogue) and page_figure(catalogue, "box-points") == "♥ 42"
    home = client.get(reverse("home"))
    assert f"{reward.name_ja} × 1" in page_text(home) and page_figure(home, "box-charge") == "¥1,540"
    add(client, shaker, 1)
    bundle = client.get(reverse("exchange:bundle"))
    assert "ボックスに追加" in page_text(bundle) and "ボックスに入っています" in page_text(bundle)

    # The confirmation is the whole box once: one fee over 102 points, the total counted once.
    page, placed = confirm(client)
    assert (page_figure(page, "points"), page_figure(page, "exchange-fee"), page_figure(page, "total")) == (
        "♥ 102",
        "¥2,800",
        "¥39,980",
    )
    assert (page_figure(page, "points-before"), page_figure(page, "points-delta")) == ("♥ 42", "♥ 60")
    assert page_text(page).count(reward.name_ja) == 1 and page_text(page).count(shaker.name_ja) == 1
    assert placed.status_code == 302 and placed.url.endswith(f"/{box.number}/")
    box.refresh_from_db()
    assert (box.revision, box.points, box.total) == (2, 102, 39980)

    # Take the 42 out: its points come back, the box is 60 points, one unit.
    client.post(reverse("exchange:bundle"), {"remove": reward.pk})
    page, placed = confirm(client)
    assert page_figure(page, "points-delta") == "♥ 42" and "残高に戻るポイント" in page_text(page)
    assert placed.status_code == 302
    box.refresh_from_db()
    assert (box.revision, box.points, box.fee_units) == (3, 60, 1)
    assert points_available(member=guide_member) == 500 - 60
    assert Exchange.objects.filter(member=guide_member).count() == 1
    detail = page_text(client.get(reverse("exchange:detail", args=[box.number])))
    assert "このボックスの変更履歴" in detail and "♥ 42 → ♥ 102" in detail and "♥ 102 → ♥ 60" in detail
    assert_ledger_ok()


@pytest.mark.parametrize("added, said", [(39, False), (40, True)])
def test_a_cart_from_before_the_box_that_takes_a_reward_past_99_says_so_and_stops_at_99(
    client, guide_member, guide_catalogue, added, said
):
    sample = ProductFactory(sku="RW-01", reward=True, point_cost=1, tax_rate=10)
    client.force_login(guide_member.user)
    add(client, sample, added)  # no box yet: the cart is what it adds
    box_set(guide_member, {sample: 60})  # another device places a box meanwhile
    text = page_text(client.get(reverse("exchange:bundle")))
    message = f"ボックスに入っている分と合わせると{sample.name_ja}が99個を超えるため、99個にしました"
    assert (message in text) is said
    assert f"{sample.name_ja}" in text and "× 99" in text
    _, placed = confirm(client)
    assert placed.status_code == 302
    assert ExchangeLine.objects.get(exchange=box_of(member=guide_member).exchange, product=sample).quantity == 99
    assert message not in page_text(client.get(reverse("exchange:bundle")))  # said once


def test_two_devices_change_the_same_box_one_wins_the_other_sees_the_new_box_and_places_nothing(
    client, guide_member, guide_catalogue, shaker
):
    from django.test import Client

    reward = guide_catalogue["reward"]
    box = box_set(guide_member, {reward: 1})
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        device.force_login(guide_member.user)
    add(phone, reward, 2)
    add(laptop, shaker, 1)
    phone_page = phone.get(reverse("exchange:confirm"))
    _, laptop_placed = confirm(laptop)
    assert laptop_placed.status_code == 302
    data = {
        name: re.search(rf'name="{name}" value="([^"]*)"', phone_page.content.decode()).group(1)
        for name in ("idempotency_key", "fingerprint")
    }
    answer = phone.post(reverse("exchange:confirm"), {**data, "agree": "on"})
    assert answer.status_code == 200
    assert "別の画面で変更されました" in page_text(answer)
    assert page_figure(answer, "points") == "♥ 102"  # the box as the laptop left it
    box.refresh_from_db()
    assert (box.revision, box.points) == (2, 102)
    assert points_available(member=guide_member) == 500 - 102


def test_after_the_cut_off_the_wizard_says_until_when_and_places_nothing(client, guide_member, guide_catalogue):
    reward = guide_catalogue["reward"]
    box = box_set(guide_member, {reward: 1})
    today = timezone.localdate(timezone.now(), guide_member.market.zone)
    Subscription.objects.filter(member=guide_member).update(next_shipment_date=today)
    client.force_login(guide_member.user)
    yesterday = today - dt.timedelta(days=1)
    saved = client.post(reverse("exchange:quantity", args=[reward.pk]), {"quantity": 2, "action": "save"})
    assert saved.status_code == 400 and f"{yesterday.month}月{yesterday.day}日まで" in page_text(saved)
    page, placed = confirm(client)  # the box as it is: the confirmation refuses it too
    assert f"{yesterday.month}月{yesterday.day}日まで" in page_text(page) and "変更を保存" not in page_text(page)
    assert placed.status_code == 400
    box.refresh_from_db()
    assert (box.revision, box.points) == (1, 42)
