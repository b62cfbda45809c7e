"""Property: any sequence of ledger operations and clock moves keeps every invariant."""

import datetime as dt
import zoneinfo
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ssr_points import batches, checks, services
from ssr_points.exceptions import PointsError
from ssr_points.models import Entry, Lot
from ssr_points.selectors import points_available
from subscriptions.models import SubscriptionOrder
from tests.factories import MemberFactory, OrderFactory, StaffUserFactory, SubscriptionFactory

START = dt.datetime(2026, 1, 1, 9, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.member = MemberFactory()
        self.staff = StaffUserFactory()
        self.subscription = SubscriptionFactory(member=self.member)
        self.now = START
        self.orders: list[SubscriptionOrder] = []
        self.redemptions: list[Entry] = []
        self.n = 0

    @rule(pv=st.integers(min_value=0, max_value=3000))
    def grant(self, pv):
        self.n += 1
        order = OrderFactory(subscription=self.subscription, pv=Decimal(pv), shipped_at=self.now)
        services.points_grant_for_order(order=order, now=self.now)
        self.orders.append(order)

    @rule(data=st.data())
    def regrant_same_order(self, data):
        if self.orders:
            order = data.draw(st.sampled_from(self.orders))
            if order.status == SubscriptionOrder.Status.SHIPPED:
                services.points_grant_for_order(order=order, now=self.now)

    @rule(points=st.integers(min_value=1, max_value=400))
    def redeem(self, points):
        available = points_available(member=self.member, at=self.now)
        try:
            entry = services.points_redeem(member=self.member, points=points, reference="EX", reason="x", now=self.now)
        except PointsError:
            assert points > available or available < 0
        else:
            assert points <= available
            assert points_available(member=self.member, at=self.now) == available - points
            self.redemptions.append(entry)

    @rule(data=st.data())
    def reverse(self, data):
        if self.redemptions:
            entry = data.draw(st.sampled_from(self.redemptions))
            self.redemptions.remove(entry)
            services.points_reverse(entry=entry, reason="cancel", now=self.now)

    @rule(data=st.data())
    def claw_back(self, data):
        if self.orders:
            order = data.draw(st.sampled_from(self.orders))
            order.status = SubscriptionOrder.Status.RETURNED
            order.save(update_fields=["status"])
            services.points_claw_back_order(order=order, now=self.now)

    @rule(points=st.integers(min_value=-300, max_value=300).filter(bool))
    def adjust(self, points):
        try:
            services.points_adjust(
                member=self.member, points=points, reason="staff", staff_user=self.staff, now=self.now
            )
        except PointsError:
            assert points < 0

    @rule(days=st.integers(min_value=1, max_value=200))
    def clock_moves(self, days):
        self.now += dt.timedelta(days=days)

    @rule()
    def nightly_expiry(self):
        batches.points_expire_due(at=self.now, batch_size=2)

    @invariant()
    def ledger_holds(self):
        assert checks.ledger_check(member_ids=[self.member.pk], at=self.now) == []

    @invariant()
    def nothing_expired_is_spendable(self):
        assert not Lot.objects.filter(member=self.member, expires_at__lte=self.now).spendable(at=self.now).exists()


LedgerMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
)


class TestLedgerProperties(LedgerMachine.TestCase, TestCase):
    pass
