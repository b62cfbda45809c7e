"""Demo data: the Japan market, a catalogue with pictures, three members whose history is dated
as real life would date it, and one staff login per back-office role.

History is replayed in time order with the clock set to each moment (``now=``): a member
joins, subscribes, orders ship month by month (each grant dated when it ships), points are
exchanged, an exchange is cancelled, the nightly expiry runs when lots reach their expiry.
Nothing is back-dated afterwards, so every line of a member's history keeps the 12-month
rule (docs/ledger.md).
"""

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from backoffice.demo_images import product_picture
from exchange.services import exchange_cancel, exchange_place
from fulfilment import services as lifecycle
from jobs.models import JobRun
from jobs.services import expiry_run, grants_sweep, ledger_check_run, reminders_run, subscriptions_run
from ssr_points.batches import points_expire_due
from ssr_points.models import Lot
from ssr_points.roles import roles_sync
from ssr_points.selectors import points_available
from ssr_points.services import points_grant_for_order
from subscriptions import services
from subscriptions.models import Market, Member, PaymentMethod, Product, Subscription, SubscriptionOrder

DEMO_PASSWORD = "ssr-demo-2026"  # noqa: S105 - demo data, printed for the newcomer

CATALOGUE = [
    # sku, name_ja, name_en, price incl. tax, tax rate, PV, point cost, (shape, colour, label, alt ja, alt en)
    ("SUB-SUNRISE", "サンライズ（30包）", "Sunrise (30 sachets)", 24600, 8, Decimal("120"), None,
     ("pouch", (230, 120, 40), "SUNRISE", "オレンジ色のスタンドパウチ", "An orange stand-up pouch")),
    ("SUB-MENTABIOTICS", "メンタバイオティクス", "MentaBiotics", 12300, 8, Decimal("60"), None,
     ("jar", (40, 130, 110), "MENTA", "緑のふたの白いジャー", "A white jar with a green lid")),
    ("SUB-FIT20", "フィット20", "FIT20", 9800, 8, Decimal("45"), None,
     ("pouch", (40, 90, 170), "FIT20", "青いスタンドパウチ", "A blue stand-up pouch")),
    ("SUB-DIFFUSER", "アロマディフューザー", "Aroma diffuser", 6600, 10, Decimal("20"), None,
     ("diffuser", (120, 90, 160), "AROMA", "白いドームと紫の台座のディフューザー", "A white dome on a purple base")),
    ("RW-TRIAL", "トライアルパック", "Trial pack", 0, 8, Decimal("0"), 42,
     ("box", (200, 50, 90), "TRIAL", "黄色いリボンをかけた赤い箱", "A red box with a yellow ribbon")),
    ("RW-SHAKER", "オリジナルシェイカー", "Original shaker", 0, 10, Decimal("0"), 60,
     ("shaker", (30, 110, 180), "SSR", "目盛り付きの透明なシェイカー", "A clear shaker with a measuring scale")),
    ("RW-ENERGY", "エナジー（15包）", "Energy (15 sachets)", 0, 8, Decimal("0"), 100,
     ("bottle", (220, 160, 20), "ENERGY", "黄色いラベルの白いボトル", "A white bottle with a yellow label")),
    ("RW-KIT", "ウェルネスキット", "Wellness kit", 0, 8, Decimal("0"), 250,
     ("box", (30, 120, 80), "WELLNESS", "金色のリボンをかけた緑の箱", "A green box with a gold ribbon")),
]  # fmt: skip

# What each reward is, as the catalogue shows it under the name (Japanese, English).
DESCRIPTIONS = {
    "RW-TRIAL": (
        "人気の3製品を少しずつ試せるセット。はじめての方に。",
        "Three of our favourites in small sizes: a first try.",
    ),
    "RW-SHAKER": (
        "目盛り付きで、粉末を水にさっと溶かせる600mlシェイカー。",
        "A 600 ml shaker with a scale: powders mix in seconds.",
    ),
    "RW-ENERGY": (
        "忙しい日の一杯に。持ち歩きやすい個包装15包。",
        "For busy days: 15 single sachets to carry with you.",
    ),
    "RW-KIT": ("サプリメントとシェイカー、ガイドブックのセット。", "Supplements, a shaker and a guidebook in one box."),
}

QUIET_MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
RESET_HINT = "./dev demo-reset (deletes db.sqlite3 and media/, then loads the demo again)"


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_current_timezone())


def months_before(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, 28))


class Command(BaseCommand):
    help = "Load demo data (idempotent): market, products with pictures, members 100001–100003, staff users."

    def handle(self, *args, **options):
        self.stdout.write("Loading the demo data (market, catalogue with pictures, members, staff)…")
        # Replaying history is not news to the members: no email goes out while it runs.
        with override_settings(MAILERS=QUIET_MAILERS):
            with transaction.atomic():
                member = self._load()
            self._jobs_once()
        site = settings.SITE_URL.rstrip("/")  # ./dev demo sets it from PORT
        self.stdout.write(
            self.style.SUCCESS(
                "\nSSR Rewards demo is ready.\n"
                f"  Member site:  {site}/   password for every login: " + DEMO_PASSWORD + "\n"
                "    100001 (or demo@example.com)  card, subscribed, points expiring soon, history since "
                f"{timezone.localtime(member.joined_at):%Y-%m-%d}\n"
                "    100002 (or bank@example.com)  pays by bank transfer: the Customer Experience page\n"
                "    100003 (or nosub@example.com) new member without a subscription\n"
                f"  Staff admin:  {site}/admin/\n"
                "    admin (superuser), cx-agent, cx-supervisor, ops, finance\n"
                f"  Email previews: {site}/email-previews/ (emails print in this console)\n"
                f"  Demo member 100001 has {points_available(member=member)} points available.\n"
                f"  Start again from scratch: {RESET_HINT}\n"
            )
        )

    def _load(self) -> Member:
        market, _ = Market.objects.get_or_create(
            code="JP", defaults={"name": "日本", "cx_phone": "03-4588-9520", "cx_email": "cs.jp@example.com"}
        )
        products = {}
        for sku, name_ja, name_en, price, rate, pv, cost, picture in CATALOGUE:
            product, _ = Product.objects.get_or_create(
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
            if sku in DESCRIPTIONS and not product.description_ja:
                product.description_ja, product.description_en = DESCRIPTIONS[sku]
                product.save(update_fields=["description_ja", "description_en"])
            if not product.image:
                shape, colour, label, alt_ja, alt_en = picture
                product.image_alt_ja, product.image_alt_en = alt_ja, alt_en
                # Assigned, not FieldFile.save(save=False): that stores the file twice and leaves the
                # image's width and height empty, so every load of the product opened the file.
                product.image = ContentFile(
                    product_picture(shape=shape, colour=colour, label=label), f"{sku.lower()}.png"
                )
                product.save()
            products[sku] = product
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD)
        self._staff_roles()
        member = Member.objects.filter(member_number="100001").first()
        if member is None:
            member = self._demo_member(market, products)
        self._other_members(market, products)
        return member

    @staticmethod
    def _jobs_once() -> None:
        """Each job once, as beat (or the ledger check page) would have run it, so the demo's job
        runs are not an empty list: the runs a job has not had yet (a second load adds none)."""
        done = set(JobRun.objects.values_list("kind", flat=True))
        jobs = {
            JobRun.Kind.EXPIRY: expiry_run,
            JobRun.Kind.SUBSCRIPTIONS: subscriptions_run,
            JobRun.Kind.GRANTS: lambda: grants_sweep(record_empty=True),  # recorded though nothing is owed
            JobRun.Kind.REMINDERS: reminders_run,
            JobRun.Kind.LEDGER_CHECK: ledger_check_run,
        }
        for kind, run in jobs.items():
            if kind not in done:
                run()

    def _staff_roles(self) -> None:
        """One demo staff login per back-office role (docs/admin.md): cx-agent, cx-supervisor, ops, finance."""
        User = get_user_model()
        for name, group in roles_sync().items():
            username = name.replace("_", "-")
            if not User.objects.filter(username=username).exists():
                user = User.objects.create_user(username, f"{username}@example.com", DEMO_PASSWORD, is_staff=True)
                user.groups.add(group)

    @staticmethod
    def _member(market, *, number, name, kana, email, joined_at, phone="", payment_method=PaymentMethod.CARD):
        member = services.member_create(
            market=market,
            member_number=number,
            name=name,
            name_kana=kana,
            email=email,
            phone=phone,
            password=DEMO_PASSWORD,
            payment_method=payment_method,
        )
        Member.objects.filter(pk=member.pk).update(joined_at=joined_at)
        get_user_model().objects.filter(pk=member.user_id).update(date_joined=joined_at)
        member.refresh_from_db()
        return member

    @staticmethod
    def _subscribe(member, items, *, first_shipment: dt.date, at: dt.datetime) -> Subscription:
        subscription = services.subscription_save(member=member, items=items, next_shipment_date=first_shipment)
        Subscription.objects.filter(pk=subscription.pk).update(created_at=at)
        return subscription

    @staticmethod
    def _next_date(subscription: Subscription) -> dt.date:
        return Subscription.objects.values_list("next_shipment_date", flat=True).get(pk=subscription.pk)

    @classmethod
    def _month(cls, subscription: Subscription) -> SubscriptionOrder:
        """The subscription's next month, as the jobs run it: the order is created at 01:00 on
        its date (with any bundled exchanges), ships at 15:00 and grants its points then."""
        shipment_date = cls._next_date(subscription)
        created_at = local(shipment_date, 1)
        cls._expire_until(created_at)
        order = lifecycle.subscription_order_due(subscription=subscription, today=shipment_date)
        SubscriptionOrder.objects.filter(pk=order.pk).update(created_at=created_at)
        shipped_at = local(shipment_date, 15)
        cls._ship(order, shipped_at)
        return order

    @staticmethod
    def _expire_until(at: dt.datetime) -> None:
        """The nightly expiry (00:05) of each night up to ``at`` on which a demo lot expired."""
        pending = Lot.objects.due(at=at).order_by("expires_at").values_list("expires_at", flat=True).distinct()
        for expires_at in list(pending):
            run_at = expires_at + dt.timedelta(minutes=5)
            points_expire_due(at=run_at, now=run_at)

    @staticmethod
    def _ship(order, shipped_at) -> None:
        """Replay history: ship the order and write its grant with the clock at ``shipped_at``."""
        lifecycle.order_mark_shipped(order=order, shipped_at=shipped_at, now=shipped_at)
        points_grant_for_order(order=order, now=shipped_at)

    def _demo_member(self, market, products) -> Member:
        """山田 花子: joined 17 months ago, subscribed for 8 months, paused, subscribed again 4
        months ago. Her oldest points have expired, the next ones expire within 60 days, she
        exchanged twice (one cancelled) and is on the 15 % rate, 20 % from month 7."""
        today = timezone.localdate()
        joined = months_before(today, 17)
        member = self._member(
            market,
            number="100001",
            name="山田 花子",
            kana="ヤマダ ハナコ",
            email="demo@example.com",
            phone="090-1234-5678",
            joined_at=local(joined, 20, 12),
        )
        items = {products["SUB-SUNRISE"]: 1, products["SUB-MENTABIOTICS"]: 1}
        first = joined + dt.timedelta(days=5)
        subscription = self._subscribe(member, items, first_shipment=first, at=local(joined, 20, 15))
        for month in range(8):
            shipment_date = self._next_date(subscription)
            if month == 5:  # the first exchange, bundled with the sixth order
                self._expire_until(local(shipment_date - dt.timedelta(days=9), 21))
                exchange_place(
                    member=member,
                    lines=[(products["RW-TRIAL"], 1)],
                    ship_now=False,
                    idempotency_key=uuid.uuid4(),
                    now=local(shipment_date - dt.timedelta(days=9), 21, 30),
                )
            self._month(subscription)
        paused_at = local(self._next_date(subscription) - dt.timedelta(days=3), 10)
        Subscription.objects.filter(pk=subscription.pk).update(
            status=Subscription.Status.CANCELLED, updated_at=paused_at
        )

        again = months_before(today, 4) + dt.timedelta(days=2)
        subscription = self._subscribe(member, items, first_shipment=again, at=local(again - dt.timedelta(days=6), 19))
        for month in range(4):
            shipment_date = self._next_date(subscription)
            if month == 2:  # an apply-now exchange, cancelled the next day
                placed_at = local(shipment_date - dt.timedelta(days=4), 12)
                self._expire_until(placed_at)
                exchange = exchange_place(
                    member=member,
                    lines=[(products["RW-SHAKER"], 1)],
                    ship_now=True,
                    idempotency_key=uuid.uuid4(),
                    now=placed_at,
                )
                exchange_cancel(exchange=exchange, now=placed_at + dt.timedelta(hours=20))
            self._month(subscription)
        self._expire_until(timezone.now())
        return member

    def _other_members(self, market, products) -> None:
        today = timezone.localdate()
        if not Member.objects.filter(member_number="100002").exists():
            joined = months_before(today, 3)
            member = self._member(
                market,
                number="100002",
                name="佐藤 太郎",
                kana="サトウ タロウ",
                email="bank@example.com",
                joined_at=local(joined, 11),
                payment_method=PaymentMethod.BANK_TRANSFER,
            )
            first = joined + dt.timedelta(days=4)
            subscription = self._subscribe(
                member, {products["SUB-FIT20"]: 2}, first_shipment=first, at=local(joined, 11, 5)
            )
            while self._next_date(subscription) < today:
                self._month(subscription)
        if not Member.objects.filter(member_number="100003").exists():
            self._member(
                market,
                number="100003",
                name="鈴木 一郎",
                kana="スズキ イチロウ",
                email="nosub@example.com",
                joined_at=local(today - dt.timedelta(days=6), 18),
            )
