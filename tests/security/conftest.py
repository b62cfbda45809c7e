import pytest

from exchange.services import exchange_place
from ssr_points.models import Entry, PointAccount
from ssr_points.services import points_adjust
from subscriptions.services import subscription_save
from tests.factories import MemberFactory, StaffUserFactory


@pytest.fixture
def subscribed_member(catalogue):
    """A card member with the guide's subscription and 5,000 points: the wizard is open to them."""

    def build(points=5000, **kwargs):
        member = MemberFactory(**kwargs)
        subscription_save(member=member, items={catalogue["sunrise"]: 1, catalogue["menta"]: 1})
        if points:
            points_adjust(member=member, points=points, reason="テスト用ポイント", staff_user=StaffUserFactory())
        return member

    return build


@pytest.fixture
def place(catalogue):
    def place_exchange(member, product=None, quantity=1, **kwargs):
        import uuid

        return exchange_place(
            member=member,
            lines=[(product or catalogue["reward"], quantity)],
            ship_now=False,
            idempotency_key=uuid.uuid4(),
            **kwargs,
        )

    return place_exchange


def ledger_state():
    """Everything a request could change in the ledger: balances, debts, entry count."""
    return (
        sorted(PointAccount.objects.values_list("member_id", "balance", "debt")),
        Entry.objects.count(),
    )
