"""Demo data: the Japan market, a catalogue, a demo member with a subscription and points."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from fulfilment import services as lifecycle
from ssr_points.roles import roles_sync
from ssr_points.selectors import points_available
from ssr_points.services import points_grant_for_order
from subscriptions import services
from subscriptions.catalogue import catalogue_changed
from subscriptions.models import Market, Member, PaymentMethod, Product

DEMO_PASSWORD = "ssr-demo-2026"  # noqa: S105 - demo data, printed for the newcomer

CATALOGUE = [
    # sku, name_ja, name_en, price incl. tax, tax rate, PV, point cost
    ("SUB-SUNRISE", "サンライズ（30包）", "Sunrise (30 sachets)", 24600, 8, Decimal("120"), None),
    ("SUB-MENTABIOTICS", "メンタバイオティクス", "MentaBiotics", 12300, 8, Decimal("60"), None),
    ("SUB-FIT20", "フィット20", "FIT20", 9800, 8, Decimal("45"), None),
    ("SUB-DIFFUSER", "アロマディフューザー", "Aroma diffuser", 6600, 10, Decimal("20"), None),
    ("RW-TRIAL", "トライアルパック", "Trial pack", 0, 8, Decimal("0"), 42),
    ("RW-SHAKER", "オリジナルシェイカー", "Original shaker", 0, 10, Decimal("0"), 60),
    ("RW-ENERGY", "エナジー（15包）", "Energy (15 sachets)", 0, 8, Decimal("0"), 100),
    ("RW-KIT", "ウェルネスキット", "Wellness kit", 0, 8, Decimal("0"), 250),
]


class Command(BaseCommand):
    help = "Load demo data (idempotent): market, products, demo member 100001 with points, staff users."

    def handle(self, *args, **options):
        with transaction.atomic():
            member = self._load()
        self.stdout.write(
            self.style.SUCCESS(
                "\nSSR Rewards demo is ready.\n"
                f"  Member site:  http://127.0.0.1:8000/   login 100001 (or demo@example.com) / {DEMO_PASSWORD}\n"
                f"  Staff admin:  http://127.0.0.1:8000/admin/   login admin / {DEMO_PASSWORD}\n"
                f"                roles: cx-agent, cx-supervisor, ops, finance / {DEMO_PASSWORD}\n"
                f"  Demo member has {points_available(member=member)} points available.\n"
            )
        )

    def _load(self) -> Member:
        market, _ = Market.objects.get_or_create(
            code="JP", defaults={"name": "日本", "cx_phone": "03-4588-9520", "cx_email": "cs.jp@example.com"}
        )
        products = {}
        for sku, name_ja, name_en, price, rate, pv, cost in CATALOGUE:
            products[sku], _ = Product.objects.get_or_create(
                sku=sku,
                defaults=dict(
                    market=market,
                    name_ja=name_ja,
                    name_en=name_en,
                    price_incl_tax=price,
                    tax_rate=rate,
                    pv=pv,
                    point_cost=cost,
                    is_subscribable=cost is None,
                ),
            )
        catalogue_changed(market_id=market.pk)
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD)
        self._staff_roles()
        member = Member.objects.filter(member_number="100001").first()
        if member is None:
            member = self._demo_member(market, products)
        self._other_members(market, products)
        return member

    def _staff_roles(self) -> None:
        """One demo staff login per back-office role (docs/admin.md): cx-agent, cx-supervisor, ops, finance."""
        User = get_user_model()
        for name, group in roles_sync().items():
            username = name.replace("_", "-")
            if not User.objects.filter(username=username).exists():
                user = User.objects.create_user(username, f"{username}@example.com", DEMO_PASSWORD, is_staff=True)
                user.groups.add(group)

    def _demo_member(self, market, products) -> Member:
        member = services.member_create(
            market=market,
            member_number="100001",
            name="山田 花子",
            name_kana="ヤマダ ハナコ",
            email="demo@example.com",
            phone="090-1234-5678",
            password=DEMO_PASSWORD,
        )
        subscription = services.subscription_save(
            member=member,
            items={products["SUB-SUNRISE"]: 1, products["SUB-MENTABIOTICS"]: 1},
            next_shipment_date=timezone.localdate() + dt.timedelta(days=12),
        )
        # Eleven shipped months: lots from ~11.5 months ago (expiring soon) to last month.
        now = timezone.now()
        for months_ago in (11, 9, 6, 3, 1):
            shipped_at = now - dt.timedelta(days=30 * months_ago + 18)
            self._ship(
                services.order_create(subscription=subscription, shipment_date=timezone.localdate(shipped_at)),
                shipped_at,
            )
        return member

    @staticmethod
    def _ship(order, shipped_at) -> None:
        """Replay history: ship the order and write its grant with the clock at ``shipped_at``."""
        lifecycle.order_mark_shipped(order=order, shipped_at=shipped_at, now=shipped_at)
        points_grant_for_order(order=order, now=shipped_at)

    def _other_members(self, market, products) -> None:
        for number, name, kana, email, method in (
            ("100002", "佐藤 太郎", "サトウ タロウ", "bank@example.com", PaymentMethod.BANK_TRANSFER),
            ("100003", "鈴木 一郎", "スズキ イチロウ", "nosub@example.com", PaymentMethod.CARD),
        ):
            if Member.objects.filter(member_number=number).exists():
                continue
            member = services.member_create(
                market=market,
                member_number=number,
                name=name,
                name_kana=kana,
                email=email,
                password=DEMO_PASSWORD,
                payment_method=method,
            )
            if method == PaymentMethod.BANK_TRANSFER:
                subscription = services.subscription_save(member=member, items={products["SUB-FIT20"]: 2})
                shipped_at = timezone.now() - dt.timedelta(days=40)
                order = services.order_create(subscription=subscription, shipment_date=timezone.localdate(shipped_at))
                self._ship(order, shipped_at)
