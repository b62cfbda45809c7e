"""Each process keeps a market's products by catalogue version, and the database moves the
version on every write of a product or of the market (migration 0007)."""

import pytest
from django.db import connection

from subscriptions.catalogue import catalogue_for, catalogue_products
from subscriptions.models import Market, Product
from tests.factories import MarketFactory, ProductFactory


def market_fresh(market: Market) -> Market:
    """The market as the next page reads it (with the signed-in user)."""
    return Market.objects.get(pk=market.pk)


def test_the_catalogue_is_read_once_per_version(db, django_assert_num_queries):
    reward = ProductFactory(reward=True)
    ProductFactory(market=reward.market, sku="SUB-1")
    market = market_fresh(reward.market)
    assert catalogue_for(market).exchangeable == [reward]
    with django_assert_num_queries(0):
        assert catalogue_for(market).exchangeable == [reward]
        assert catalogue_products(market, [reward.pk]) == {reward.pk: reward}


def save(product):
    product.point_cost = 50
    product.save()


def update(product):
    Product.objects.filter(pk=product.pk).update(point_cost=50)


def bulk_update(product):
    product.point_cost = 50
    Product.objects.bulk_update([product], ["point_cost"])


def plain_sql(product):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Product._meta.db_table} SET point_cost = 50 WHERE id = %s", [product.pk])


@pytest.mark.parametrize("write", [save, update, bulk_update, plain_sql])
def test_any_write_of_a_product_reaches_the_next_page(db, write):
    reward = ProductFactory(reward=True, point_cost=42)
    before = market_fresh(reward.market)
    assert catalogue_for(before).products[reward.pk].point_cost == 42
    write(Product.objects.get(pk=reward.pk))
    after = market_fresh(reward.market)
    assert after.catalogue_version != before.catalogue_version
    assert catalogue_for(after).products[reward.pk].point_cost == 50


def test_a_product_added_or_deleted_reaches_the_next_page(db):
    reward = ProductFactory(reward=True, point_cost=42)
    catalogue_for(market_fresh(reward.market))
    added = ProductFactory(reward=True, market=reward.market, point_cost=60)
    assert catalogue_products(market_fresh(reward.market), [added.pk]) == {added.pk: added}
    Product.objects.filter(pk=added.pk).delete()
    assert catalogue_products(market_fresh(reward.market), [added.pk]) == {}


def test_a_product_moved_to_another_market_leaves_the_old_ones_catalogue(db):
    reward = ProductFactory(reward=True)
    old_market = market_fresh(reward.market)
    new_market = MarketFactory(code="KR", name="韓国")
    assert reward in catalogue_for(old_market).exchangeable
    Product.objects.filter(pk=reward.pk).update(market=new_market)
    assert reward not in catalogue_for(market_fresh(old_market)).exchangeable
    assert [p.pk for p in catalogue_for(market_fresh(new_market)).exchangeable] == [reward.pk]


def test_a_market_saved_from_an_old_instance_never_writes_an_old_version_back(db):
    reward = ProductFactory(reward=True, point_cost=42)
    opened = market_fresh(reward.market)  # an admin form, a shell: read before the product changed
    catalogue_for(opened)
    Product.objects.filter(pk=reward.pk).update(point_cost=50)
    changed = market_fresh(reward.market).catalogue_version
    opened.name = "日本 (改)"
    opened.save()
    saved = market_fresh(opened)
    assert saved.name == "日本 (改)"
    assert saved.catalogue_version not in {opened.catalogue_version, changed}
    assert catalogue_for(saved).products[reward.pk].point_cost == 50


def test_products_a_member_already_has_come_from_the_catalogue_and_a_moved_one_in_one_query(
    db, django_assert_num_queries
):
    from subscriptions.catalogue import products_of

    kept, moved = ProductFactory(reward=True), ProductFactory(reward=True)
    market = market_fresh(kept.market)
    Product.objects.filter(pk=moved.pk).update(market=MarketFactory(code="KR", name="韓国"))
    market = market_fresh(market)
    catalogue_for(market)
    with django_assert_num_queries(1):
        products = products_of(market, [kept.pk, moved.pk])
    assert products == {kept.pk: kept, moved.pk: moved}
