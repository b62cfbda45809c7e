"""The benchmark's members: bulk-inserted rows that satisfy every ledger invariant.

10,000 members (configurable) paying by card, each with an active subscription of two
products (¥36,900, the guide's bundle) and four lots granted 10, 6, 2 and 1 months ago: 21,500
points, except the ``hot`` members shared by many users, who get 2,000 and run out mid-run
(that is when a race could overspend). One password hash is computed once and shared:
hashing 10,000 passwords would take minutes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import time
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from config.session_refresh import REFRESHED_AT
from ssr_points.models import Entry, Lot, PointAccount
from ssr_points.services import lot_expires_at
from subscriptions.models import Market, Member, PaymentMethod, Product, Subscription, SubscriptionItem

PASSWORD = "bench-pass-2026"
FIRST_NUMBER = 500_001
LOTS = ((300, 300), (500, 180), (700, 60))  # (points, granted days ago)
TOP_UP_DAYS_AGO = 30
TOP_UP, HOT_TOP_UP = 20_000, 500
BATCH = 2_000


def member_number(index: int) -> str:
    return str(FIRST_NUMBER + index)


def dataset_load(*, members: int, hot: int, stdout=print) -> None:
    call_command("seed_demo", stdout=io.StringIO())  # the Japan market and its catalogue
    market = Market.objects.get(code="JP")
    subscribed = [Product.objects.get(sku="SUB-SUNRISE"), Product.objects.get(sku="SUB-MENTABIOTICS")]
    password = make_password(PASSWORD)
    now = timezone.now()
    User = get_user_model()
    for start in range(0, members, BATCH):
        numbers = [member_number(i) for i in range(start, min(start + BATCH, members))]
        top_up = {number: HOT_TOP_UP if int(number) - FIRST_NUMBER < hot else TOP_UP for number in numbers}
        with transaction.atomic():
            users = User.objects.bulk_create(
                User(username=number, email=f"m{number}@bench.example", password=password) for number in numbers
            )
            rows = Member.objects.bulk_create(
                Member(
                    user=user,
                    member_number=user.username,
                    market=market,
                    name=f"会員 {user.username}",
                    payment_method=PaymentMethod.CARD,
                )
                for user in users
            )
            PointAccount.objects.bulk_create(
                PointAccount(member=member, balance=sum(points for points, _ in LOTS) + top_up[member.member_number])
                for member in rows
            )
            subscriptions = Subscription.objects.bulk_create(
                Subscription(member=member, next_shipment_date=timezone.localdate() + dt.timedelta(days=12))
                for member in rows
            )
            SubscriptionItem.objects.bulk_create(
                SubscriptionItem(
                    member_id=subscription.member_id, subscription=subscription, product=product, quantity=1
                )
                for subscription in subscriptions
                for product in subscribed
            )
            lots = Lot.objects.bulk_create(
                Lot(
                    member=member,
                    amount=points,
                    remaining=points,
                    granted_at=now - dt.timedelta(days=days_ago),
                    expires_at=lot_expires_at(granted_at=now - dt.timedelta(days=days_ago), zone=market.time_zone),
                )
                for member in rows
                for points, days_ago in (*LOTS, (top_up[member.member_number], TOP_UP_DAYS_AGO))
            )
            Entry.objects.bulk_create(
                Entry(
                    member_id=lot.member_id,
                    kind=Entry.Kind.GRANT,
                    points=lot.amount,
                    created_at=lot.granted_at,
                    reason="定期購入の出荷による付与",
                    lot=lot,
                )
                for lot in lots
            )
        stdout(f"  members loaded: {start + len(numbers):,}")


def sessions_create(*, hot: list[str], others: list[str], path: Path, pool: int = 1_000) -> None:
    """Signed-in sessions for the Locust users, written to ``path`` as JSON.

    A login costs a password hash (Argon2id, ~60 ms of CPU a login here; bench/login.py): the
    walks measure the wizard, not the logins, so they start signed in. The
    sessions are made the way ``django.contrib.auth.login`` makes them. ``hot``: one session
    per Locust user logged in as a shared member; ``others``: a pool of random members.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    backend = "subscriptions.backends.MemberNumberOrEmailBackend"  # what a member's own login records
    rng = random.Random(6)
    chosen = rng.sample(others, min(pool, len(others)))
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[*hot, *chosen])}

    def session_for(number: str) -> str:
        user = users[number]
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[REFRESHED_AT] = int(time.time())
        session.create()
        return session.session_key

    path.write_text(json.dumps({"hot": [session_for(n) for n in hot], "others": [session_for(n) for n in chosen]}))
