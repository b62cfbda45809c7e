"""``Instances`` builds model instances from a compiled query's rows without ``Model.__init__``
where nothing can tell the difference (docs/performance.md): each must be what ``from_db`` makes."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from exchange.quotes import active_subscription_items
from ssr_points.models import Entry, Lot, PointAccount
from ssr_points.services import points_adjust
from subscriptions.compiled_queries import Instances
from subscriptions.models import Market, Member, Product, Subscription, SubscriptionItem
from tests.factories import (
    MemberFactory,
    ProductFactory,
    StaffUserFactory,
    SubscriptionFactory,
    SubscriptionItemFactory,
)

pytestmark = pytest.mark.django_db


def all_columns(model):
    return [field.attname for field in model._meta.concrete_fields]


def row_of(instance):
    return tuple(getattr(instance, column) for column in all_columns(type(instance)))


def state_of(instance):
    """What an instance holds: its values, and whether it is saved, on which database, with what cached."""
    values = {name: value for name, value in vars(instance).items() if name != "_state"}
    state = instance._state
    return values, state.adding, state.db, dict(state.fields_cache)


@pytest.fixture
def rows_of_each_model():
    member = MemberFactory()
    points_adjust(member=member, points=120, reason="welcome", staff_user=StaffUserFactory())
    subscription = SubscriptionFactory(member=member)
    item = SubscriptionItemFactory(subscription=subscription, quantity=2)
    lot = Lot.objects.get(member=member)
    return [
        Market.objects.get(pk=member.market_id),
        Member.objects.get(pk=member.pk),
        Subscription.objects.get(pk=subscription.pk),
        PointAccount.objects.get(member=member),
        lot,
        Entry.objects.get(lot=lot),
        SubscriptionItem.objects.get(pk=item.pk),
    ]


def test_each_instance_is_the_one_from_db_makes(rows_of_each_model):
    for saved in rows_of_each_model:
        model = type(saved)
        columns = all_columns(model)
        made = Instances(model, columns).one(row_of(saved))
        expected = model.from_db(DEFAULT_DB_ALIAS, columns, row_of(saved))
        assert type(made) is model
        assert state_of(made) == state_of(expected)
        assert made == saved and made.pk == saved.pk


def test_the_instances_are_made_without_model_init(rows_of_each_model, monkeypatch):
    instances = {type(saved): Instances(type(saved), all_columns(type(saved))) for saved in rows_of_each_model}

    def refused(*args, **kwargs):
        raise AssertionError("Model.__init__ was called")

    monkeypatch.setattr(Model, "__init__", refused)
    for saved in rows_of_each_model:
        [made] = instances[type(saved)].many([row_of(saved)])
        assert made.pk == saved.pk
        assert made._state.adding is False


def test_a_lot_made_so_is_saved_and_its_foreign_keys_read(rows_of_each_model):
    lot = rows_of_each_model[4]
    [made] = Instances(Lot, all_columns(Lot)).many([row_of(lot)])
    assert made.member == lot.member
    assert made.get_deferred_fields() == set()
    made.save(update_fields=["remaining"])
    assert Lot.objects.get(pk=lot.pk).remaining == lot.remaining


def test_a_receiver_of_post_init_gets_every_instance(rows_of_each_model):
    lot = rows_of_each_model[4]
    lots = Instances(Lot, all_columns(Lot))
    received = []

    def receiver(sender, instance, **kwargs):
        received.append(instance)

    post_init.connect(receiver, sender=Lot)
    try:
        made = lots.many([row_of(lot), row_of(lot)])
    finally:
        post_init.disconnect(receiver, sender=Lot)
    assert len(made) == 2
    assert [id(instance) for instance in received] == [id(instance) for instance in made]


def test_a_product_with_an_image_field_goes_through_from_db(monkeypatch):
    product = ProductFactory()
    products = Instances(Product, all_columns(Product))
    calls = []
    from_db = Product.from_db.__func__
    monkeypatch.setattr(Product, "from_db", classmethod(lambda cls, *args: calls.append(args) or from_db(cls, *args)))
    [made] = products.many([row_of(product)])
    assert made == product and made.image == product.image
    assert len(calls) == 1


def test_a_subset_of_the_columns_leaves_the_others_deferred(rows_of_each_model):
    lot = rows_of_each_model[4]
    made = Instances(Lot, ["id", "member_id", "remaining"]).one((lot.pk, lot.member_id, lot.remaining))
    assert "expires_at" in made.get_deferred_fields()
    assert made.expires_at == lot.expires_at  # read when asked, as ``from_db``'s deferred field is


def test_the_wizard_reads_the_subscription_items_with_their_product_and_subscription():
    item = SubscriptionItemFactory(quantity=3)
    member = Member.objects.get(pk=item.member_id)
    [read] = active_subscription_items(member=member)
    assert (read.pk, read.member_id, read.quantity) == (item.pk, item.member_id, 3)
    assert read._state.adding is False and read.get_deferred_fields() == set()
    assert read.subscription == item.subscription and read.product == item.product
    with CaptureQueriesContext(connection) as queries:
        read.subscription, read.product  # noqa: B018 - cached with the read, no query
    assert len(queries) == 0
