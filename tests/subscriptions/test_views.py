"""Signing in, the program page and the subscription page (「定期購入を追加後、保存」)."""

import datetime as dt
import re

import pytest
import segno
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from subscriptions.access import member_of
from subscriptions.backends import MemberNumberOrEmailBackend
from subscriptions.models import PaymentMethod, Subscription
from tests.factories import MemberFactory, ProductFactory, StaffUserFactory, UserFactory

PASSWORD = "pass-word-123"


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


# -- signing in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["number", "email", "EMAIL"])
def test_members_sign_in_with_member_number_or_email(client, member, login):
    username = {"number": member.member_number, "email": member.email, "EMAIL": member.email.upper()}[login]
    response = client.post(reverse("login"), {"username": f" {username} ", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_a_wrong_password_is_refused_with_a_message(client, member):
    response = client.post(reverse("login"), {"username": member.member_number, "password": "wrong"})
    assert response.status_code == 200
    assert "パスワードが正しくありません" in text(response)


def test_an_email_shared_by_two_accounts_signs_in_neither(client, db):
    first = MemberFactory()
    UserFactory(email=first.email)
    response = client.post(reverse("login"), {"username": first.email, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_unknown_logins_are_refused(client, db):
    for username in ("999999", "nobody@example.com", ""):
        response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
        assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_staff_still_sign_in_with_their_username(client, db):
    staff = StaffUserFactory(username="cx-agent")
    client.post(reverse("login"), {"username": "cx-agent", "password": PASSWORD})
    assert int(client.session["_auth_user_id"]) == staff.pk


def test_an_inactive_member_cannot_sign_in(client, member):
    get_user_model().objects.filter(pk=member.user_id).update(is_active=False)
    client.post(reverse("login"), {"username": member.member_number, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_a_member_deactivated_while_signed_in_is_signed_out(client, member):
    client.post(reverse("login"), {"username": member.member_number, "password": PASSWORD})
    assert client.get(reverse("home")).status_code == 200
    get_user_model().objects.filter(pk=member.user_id).update(is_active=False)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_member_login_backend_loads_user_member_and_market_together(member, django_assert_num_queries):
    backend = MemberNumberOrEmailBackend()
    with django_assert_num_queries(1):
        user = backend.get_user(member.user_id)
        assert (user.member.pk, user.member.market.code) == (member.pk, member.market.code)
    staff = StaffUserFactory()
    assert member_of(backend.get_user(staff.pk)) is None  # a staff account: no member profile
    assert backend.get_user(0) is None


def test_a_staff_account_has_no_member_profile_and_an_inactive_user_is_refused(member, django_assert_num_queries):
    staff = StaffUserFactory()
    with django_assert_num_queries(1):
        user = MemberNumberOrEmailBackend().get_user(staff.pk)
        assert user == staff and member_of(user) is None  # known to have none, without a query
    get_user_model().objects.filter(pk=member.user_id).update(is_active=False)
    assert MemberNumberOrEmailBackend().get_user(member.user_id) is None


def test_log_out_is_a_post(client, member):
    client.force_login(member.user)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_the_login_page_is_japanese_by_default_and_english_on_request(client, db, settings):
    assert "会員番号またはメールアドレス" in text(client.get(reverse("login")))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Member number or email" in text(client.get(reverse("login")))


def test_the_language_switcher_changes_the_language(client, member):
    client.force_login(member.user)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")}, follow=True)
    assert "Available points" in text(response)


# -- the program page -------------------------------------------------------------------------------


def test_the_program_page_states_the_rules_with_a_qr_code_of_itself(client, member):
    client.force_login(member.user)
    response = client.get(reverse("program"))
    page = text(response)
    assert "未使用ポイントは、付与日から12か月で失効します" in page
    assert "100ポイントまでごとに交換手数料 ¥1,540（税込）" in page  # 総額表示 (item 7)
    assert "税抜" not in page
    assert "¥12,000（税込）以上の定期購入に同梱することで不要" in page
    expected = segno.make("http://testserver/program/", error="m")
    path = re.search(r' d="([^"]+)"', expected.svg_inline(scale=5)).group(1)
    assert path in response.content.decode()
    qr = client.get(reverse("program_qr"))
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"


# -- the subscription page ------------------------------------------------------------------------


@pytest.fixture
def catalogue(db):
    return {
        "sunrise": ProductFactory(sku="SUB-A", price_incl_tax=24600, pv=120),
        "menta": ProductFactory(sku="SUB-B", price_incl_tax=12300, pv=60),
        "retired": ProductFactory(sku="SUB-OLD", is_active=False),
        "reward": ProductFactory(sku="RW-1", reward=True),
    }


def test_a_member_adds_a_subscription_and_saves_it(client, member, catalogue):
    client.force_login(member.user)
    page = client.get(reverse("subscription"))
    assert page.status_code == 200
    assert "定期購入がまだありません" in text(page) and "クレジットカード" in text(page)
    assert catalogue["retired"].name not in text(page) and catalogue["reward"].name not in text(page)
    date = timezone.localdate() + dt.timedelta(days=5)
    data = {
        f"quantity_{catalogue['sunrise'].pk}": "1",
        f"quantity_{catalogue['menta'].pk}": "2",
        "next_shipment_date": date.isoformat(),
    }
    response = client.post(reverse("subscription"), data, follow=True)
    assert "定期購入を保存しました" in text(response)
    subscription = Subscription.objects.get(member=member)
    assert subscription.next_shipment_date == date
    assert {item.product.sku: item.quantity for item in subscription.items.all()} == {"SUB-A": 1, "SUB-B": 2}
    assert f"{date.year}年{date.month}月{date.day}日" in text(response)
    # and the exchange catalogue opens now
    assert client.get(reverse("exchange:catalogue")).status_code == 200


@pytest.mark.parametrize(
    "quantities, days, message",
    [
        (("0", "0"), 5, "製品を1つ以上追加してください"),
        (("", ""), 5, "製品を1つ以上追加してください"),
        (("-1", "1"), 5, "0"),
        (("abc", "1"), 5, "整数"),
        (("100", "1"), 5, "99"),
        (("1", "1"), 0, "明日以降の日付"),
        (("1", "1"), -3, "明日以降の日付"),
        (("1", "1"), 400, "1年以内"),
    ],
)
def test_bad_subscription_input_gets_a_message_and_saves_nothing(client, member, catalogue, quantities, days, message):
    client.force_login(member.user)
    data = {
        f"quantity_{catalogue['sunrise'].pk}": quantities[0],
        f"quantity_{catalogue['menta'].pk}": quantities[1],
        "next_shipment_date": (timezone.localdate() + dt.timedelta(days=days)).isoformat(),
    }
    response = client.post(reverse("subscription"), data)
    assert response.status_code == 400 and message in text(response)
    assert not Subscription.objects.filter(member=member).exists()


def test_a_nonsense_date_gets_a_message(client, member, catalogue):
    client.force_login(member.user)
    response = client.post(
        reverse("subscription"), {f"quantity_{catalogue['sunrise'].pk}": "1", "next_shipment_date": "2026-13-45"}
    )
    assert response.status_code == 400 and not Subscription.objects.exists()


@pytest.mark.parametrize("method", [PaymentMethod.BANK_TRANSFER, PaymentMethod.DIRECT_DEBIT])
def test_bank_members_see_how_to_reach_customer_experience(client, db, method):
    member = MemberFactory(payment_method=method)
    client.force_login(member.user)
    page = text(client.get(reverse("subscription")))
    assert "カスタマーエクスペリエンスまでご連絡ください" in page
    assert "03-4588-9520" in page and "cs.jp@example.com" in page
    assert "カスタマーエクスペリエンスに依頼を送信" in page
