"""Races on PostgreSQL: real threads, real row locks (transactional tests)."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from ssr_points import services
from ssr_points.exceptions import InsufficientPoints
from ssr_points.models import Entry, PointAccount
from ssr_points.selectors import points_available
from tests.factories import MemberFactory, OrderFactory, SubscriptionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(functions):
    """Start every function at once (barrier) in its own thread and connection."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def worker(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()
            close_old_connections()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_twenty_concurrent_redemptions_never_overspend(assert_ledger_ok):
    member = MemberFactory()
    staff = member.user
    services.points_adjust(member=member, points=100, reason="初期残高", staff_user=staff)
    results = run_in_threads(
        [
            lambda i=i: services.points_redeem(member=member, points=15, reference=f"EX-{i}", reason="交換")
            for i in range(20)
        ]
    )
    succeeded = [r for r in results if isinstance(r, Entry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(succeeded) == 6  # 6 × 15 = 90 ≤ 100 < 7 × 15
    assert len(refused) == 14
    assert points_available(member=member) == 10
    assert PointAccount.objects.get(member=member).balance == 10
    assert_ledger_ok()


def test_a_grant_racing_a_redemption_loses_nothing(assert_ledger_ok):
    member = MemberFactory()
    services.points_adjust(member=member, points=50, reason="初期残高", staff_user=member.user)
    subscription = SubscriptionFactory(member=member)
    orders = [
        OrderFactory(subscription=subscription, pv=Decimal("300"), shipped_at=timezone.now() - dt.timedelta(hours=i))
        for i in range(5)
    ]
    jobs = [lambda o=o: services.points_grant_for_order(order=o) for o in orders]
    jobs += [
        lambda i=i: services.points_redeem(member=member, points=10, reference=f"EX-{i}", reason="交換")
        for i in range(5)
    ]
    jobs += [lambda o=orders[0]: services.points_grant_for_order(order=o)]  # a duplicate event
    results = run_in_threads(jobs)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert PointAccount.objects.get(member=member).balance == 50 + 5 * 30 - 5 * 10
    assert Entry.objects.filter(member=member, kind=Entry.Kind.GRANT).count() == 5
    assert_ledger_ok()
