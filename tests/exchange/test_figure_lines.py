"""Issue 22: the payment lines keep the guide's figures and order, but no amount reads twice —
② 小計 says it includes the exchange fee, ③ is 「うち」 part of ② (indented), the lines are numbered
1–6 (the guide numbers two of them 4), and a line says what each one holds and how the total
adds up: on the confirmation, on the exchange page and in the 受付 email. The browser reads them
too: tests/browser/test_dead_ends_22.py."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from exchange.models import Exchange
from tests.exchange.test_views import add_to_cart, confirm, figure, open_confirmation, text

GUIDE_ROWS = [
    ("1", "定期購入特典ポイントの交換", "♥ 42"),
    ("2", "小計 （税抜・交換手数料を含む）", "¥35,567"),
    ("3", "うち定期購入特典交換手数料 （税抜）", "¥1,400"),
    ("4", "配送 （税抜）", "¥0"),
    ("5", "税金", "¥2,873"),
    ("6", "合計 （税込）", "¥38,440"),
]


@pytest.fixture
def guide_client(client, guide_member):
    client.force_login(guide_member.user)
    return client


def numbered_rows(html: str) -> list[tuple[str, str, str]]:
    row = r'<tr( class="(?:sub|total)")?><th scope="row"><span class="line-no">(\d)</span>(.*?)</th><td[^>]*>(.*?)</td>'
    rows = re.findall(row, html)
    clean = lambda part: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)).strip()  # noqa: E731
    return [(number, clean(label), clean(value)) for _sub, number, label, value in rows]


def test_the_confirmation_numbers_six_lines_with_the_fee_inside_the_subtotal(guide_client, guide_catalogue):
    add_to_cart(guide_client, guide_catalogue["reward"])
    page = open_confirmation(guide_client)
    html = page.content.decode()
    assert numbered_rows(html) == GUIDE_ROWS
    assert '<tr class="sub"><th scope="row"><span class="line-no">3</span>' in html  # indented under ②
    body = text(page)
    assert "②に含まれており、別に請求されることはありません" in body
    assert "定期購入の製品と交換手数料の合計（税抜）" in body
    assert "お支払い金額：②＋④＋⑤（税込）" in body
    assert figure(page, "check") == "計算：②¥35,567 ＋ ④¥0 ＋ ⑤¥2,873 ＝ ⑥¥38,440（③は②に含まれています）"


def test_apply_now_says_the_subtotal_is_the_fee_itself_not_a_second_charge(guide_client, guide_catalogue):
    guide_client.post(reverse("exchange:catalogue"), {"ship_now": "1"})
    add_to_cart(guide_client, guide_catalogue["reward"], quantity=5)  # 210 points: 3 fee units
    page = open_confirmation(guide_client)
    rows = {number: value for number, _label, value in numbered_rows(page.content.decode())}
    assert (rows["2"], rows["3"]) == ("¥4,200", "¥4,200")  # the same money, shown as ② and its part ③
    body = text(page)
    assert "交換手数料（税抜）。特典製品はポイントで交換するため、製品の代金はかかりません。" in body
    assert figure(page, "check") == "計算：②¥4,200 ＋ ④¥1,000 ＋ ⑤¥520 ＝ ⑥¥5,720（③は②に含まれています）"


def test_the_exchange_page_and_the_email_label_the_lines_the_same_way(
    guide_client, guide_catalogue, django_capture_on_commit_callbacks
):
    add_to_cart(guide_client, guide_catalogue["reward"])
    with django_capture_on_commit_callbacks(execute=True):
        confirm(guide_client, open_confirmation(guide_client))
    exchange = Exchange.objects.get()
    detail = guide_client.get(reverse("exchange:detail", args=[exchange.number]))
    assert numbered_rows(detail.content.decode()) == GUIDE_ROWS
    assert figure(detail, "check") == "計算：②¥35,567 ＋ ④¥0 ＋ ⑤¥2,873 ＝ ⑥¥38,440（③は②に含まれています）"
    (message,) = mail.outbox
    lines = message.body.splitlines()
    assert "② 小計（税抜・交換手数料を含む）: ¥35,567" in lines
    assert "   ③ うち定期購入特典交換手数料（税抜）: ¥1,400" in lines
    assert "計算：②¥35,567 ＋ ④¥0 ＋ ⑤¥2,873 ＝ ⑥¥38,440（③は②に含まれています）" in lines
    html = message.alternatives[0].content
    assert "&nbsp;&nbsp;③ うち定期購入特典交換手数料 （税抜）" in html and "（③は②に含まれています）" in html
    # The total reads 「合計（税込）」 on the done page and in the email, in English "Total (incl. tax)".
    assert "⑥ 合計（税込）</strong>" in html and "⑥ 合計（税込）: ¥38,440" in lines
    done = text(guide_client.get(reverse("exchange:done", args=[exchange.number])))
    assert "合計（税込） ¥38,440" in done and "合計 （税込）" not in done
