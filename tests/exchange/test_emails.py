"""Issue 11 item 9: the exchange received (受付) and cancelled emails — Japanese, text and HTML,
sent once the transaction committed, never for a repeat of the same confirmation."""

import datetime as dt
import uuid

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from config.broker import broker_backoff
from exchange.services import exchange_cancel, exchange_place


@pytest.fixture
def placed(guide_member, guide_catalogue, django_capture_on_commit_callbacks):
    def place(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return exchange_place(
                member=guide_member,
                lines=[(guide_catalogue["reward"], 1)],
                ship_now=kwargs.pop("ship_now", False),
                idempotency_key=kwargs.pop("key", uuid.uuid4()),
                **kwargs,
            )

    return place


def test_the_received_email_has_the_lines_totals_shipment_and_cut_off(placed, guide_member):
    exchange = placed()
    (message,) = mail.outbox
    assert message.to == [guide_member.user.email]
    assert message.subject == f"【SSRリワード】ポイント交換を受け付けました（{exchange.number}）"
    body = message.body
    for expected in [
        f"{guide_member.name} 様",
        "ポイント交換を受け付けました。",
        f"交換番号: {exchange.number}",
        "× 1  ♥ 42",
        "② 小計（税抜・交換手数料を含む）: ¥35,567",
        "   ③ うち定期購入特典交換手数料（税抜）: ¥1,400",
        "④ 配送（税抜）: ¥0",
        "⑤ 税金: ¥2,873",
        "⑥ 合計（税込）: ¥38,440",
        "計算：②¥35,567 ＋ ④¥0 ＋ ⑤¥2,873 ＝ ⑥¥38,440（③は②に含まれています）",
        "合計PV: 180",
        f"/exchange/history/{exchange.number}/",
    ]:
        assert expected in body, expected
    shipment = guide_member.subscriptions.get().next_shipment_date
    cut_off = shipment - dt.timedelta(days=1)
    assert f"{shipment.year}年{shipment.month}月{shipment.day}日お届けの定期購入に同梱" in body
    assert f"キャンセルは{cut_off.year}年{cut_off.month}月{cut_off.day}日までできます" in body
    html = message.alternatives[0]
    assert html.mimetype == "text/html"
    assert '<html lang="ja">' in html.content and "¥38,440" in html.content and "style=" not in html.content


def test_a_repeat_of_the_same_confirmation_sends_nothing_more(placed):
    key = uuid.uuid4()
    first = placed(key=key)
    again = placed(key=key)
    assert again.pk == first.pk
    assert len(mail.outbox) == 1


def test_nothing_is_sent_when_the_transaction_rolls_back(
    guide_member, guide_catalogue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        exchange_place(
            member=guide_member,
            lines=[(guide_catalogue["reward"], 1)],
            ship_now=False,
            idempotency_key=uuid.uuid4(),
        )
        raise RuntimeError("the request failed after placing")
    assert mail.outbox == []


def test_the_cancellation_email_says_nothing_is_charged_and_where_the_points_went(
    placed, guide_member, django_capture_on_commit_callbacks
):
    exchange = placed()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        exchange_cancel(exchange=exchange)
    (message,) = mail.outbox
    assert message.subject == f"【SSRリワード】ポイント交換をキャンセルしました（{exchange.number}）"
    lot = guide_member.lots.get()
    last = timezone.localtime(lot.expires_at) - dt.timedelta(days=1)
    assert "請求額: ¥0" in message.body and "戻るポイント: ♥ 42" in message.body
    assert f"♥ 42  {last.year}年{last.month}月{last.day}日まで有効" in message.body
    assert "キャンセル" in message.alternatives[0].content


def test_apply_now_says_it_ships_now_and_labels_the_payment_as_its_own(placed):
    placed(ship_now=True)
    body = mail.outbox[0].body
    assert "今すぐ申し込む" in body and "お支払い内容" in body
    assert "配送（税抜）: ¥1,000" in body and "合計（税込）: ¥2,640" in body


def test_with_the_broker_down_the_received_email_goes_out_from_the_request_and_placing_succeeds(
    placed, guide_member, broker_unreachable, assert_ledger_ok
):
    exchange = placed()  # the on-commit send finds no broker: the email is sent in-process
    (message,) = mail.outbox
    assert exchange.number in message.subject and message.to == [guide_member.user.email]
    assert broker_backoff.active()
    placed()  # a second exchange within the back-off: no connection attempt, the email all the same
    assert len(mail.outbox) == 2
    assert_ledger_ok()
