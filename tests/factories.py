"""factory-boy factories for every model the tests build."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from ssr_points.models import PointAccount
from subscriptions.models import (
    Market,
    Member,
    PaymentMethod,
    Product,
    Subscription,
    SubscriptionItem,
    SubscriptionOrder,
)


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market
        django_get_or_create = ("code",)

    code = "JP"
    name = "Japan"
    cx_phone = "03-4588-9520"
    cx_email = "cs.jp@example.com"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:05d}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffUserFactory(UserFactory):
    is_staff = True


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member
        skip_postgeneration_save = True

    class Params:
        bank_transfer = factory.Trait(payment_method=PaymentMethod.BANK_TRANSFER)
        direct_debit = factory.Trait(payment_method=PaymentMethod.DIRECT_DEBIT)

    member_number = factory.Sequence(lambda n: f"{100000 + n}")
    user = factory.SubFactory(UserFactory, username=factory.SelfAttribute("..member_number"))
    market = factory.SubFactory(MarketFactory)
    name = factory.Sequence(lambda n: f"会員 {n}")
    name_kana = factory.Sequence(lambda n: f"カイイン {n}")
    phone = factory.Sequence(lambda n: f"090-0000-{n:04d}")
    payment_method = PaymentMethod.CARD

    @factory.post_generation
    def account(obj, create, extracted, **kwargs):
        if create:
            PointAccount.objects.get_or_create(member=obj)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    class Params:
        reward = factory.Trait(point_cost=42, price_incl_tax=0, pv=Decimal("0"), is_subscribable=False)

    market = factory.SubFactory(MarketFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name_ja = factory.Sequence(lambda n: f"製品 {n}")
    name_en = factory.Sequence(lambda n: f"Product {n}")
    price_incl_tax = 12300
    tax_rate = 8
    pv = Decimal("60")
    point_cost = None


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    member = factory.SubFactory(MemberFactory)
    next_shipment_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=10))


class SubscriptionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubscriptionItem

    subscription = factory.SubFactory(SubscriptionFactory)
    member = factory.SelfAttribute("subscription.member")
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class OrderFactory(factory.django.DjangoModelFactory):
    """A shipped subscription order with the given PV (no lines; enough for the ledger)."""

    class Meta:
        model = SubscriptionOrder

    subscription = factory.SubFactory(SubscriptionFactory)
    member = factory.SelfAttribute("subscription.member")
    number = factory.Sequence(lambda n: f"SO-{n:06d}")
    status = SubscriptionOrder.Status.SHIPPED
    shipment_date = factory.Sequence(lambda n: dt.date(2020, 1, 1) + dt.timedelta(days=n))
    shipped_at = factory.LazyFunction(timezone.now)
    months_subscribed = 1
    pv = Decimal("180")
    total_incl_tax = 36900


# -- issue 4: scheduled jobs -------------------------------------------------------------------


class CreatedOrderFactory(OrderFactory):
    """A subscription order that has not shipped yet."""

    status = SubscriptionOrder.Status.CREATED
    shipped_at = None


class JobRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "jobs.JobRun"

    kind = "expiry"
    status = "running"
    cutoff = factory.LazyFunction(timezone.now)
    started_at = factory.LazyFunction(timezone.now)
