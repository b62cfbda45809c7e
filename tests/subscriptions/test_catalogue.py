"""Each process keeps a market's products by catalogue version; every product change bumps it."""

from django.contrib import admin
from django.test import RequestFactory

from subscriptions.catalogue import catalogue_for, catalogue_products
from subscriptions.models import Market, Product
from subscriptions.services import product_save
from tests.factories import MarketFactory, ProductFactory, StaffUserFactory


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


def test_a_saved_product_reaches_every_process_at_its_next_page(db):
    reward = ProductFactory(reward=True, point_cost=42)
    before = market_fresh(reward.market)
    assert catalogue_for(before).products[reward.pk].point_cost == 42
    changed = Product.objects.get(pk=reward.pk)
    changed.point_cost = 50
    product_save(product=changed)
    after = market_fresh(reward.market)
    assert after.catalogue_version == before.catalogue_version + 1
    assert catalogue_for(after).products[reward.pk].point_cost == 50


def test_a_product_moved_to_another_market_leaves_the_old_ones_catalogue(db):
    reward = ProductFactory(reward=True)
    old_market = market_fresh(reward.market)
    new_market = MarketFactory(code="KR", name="韓国")
    assert reward in catalogue_for(old_market).exchangeable
    reward.market = new_market
    product_save(product=reward)
    assert reward not in catalogue_for(market_fresh(old_market)).exchangeable
    assert [p.pk for p in catalogue_for(market_fresh(new_market)).exchangeable] == [reward.pk]


def test_the_admin_saves_of_products_and_markets_bump_the_version(db):
    reward = ProductFactory(reward=True)
    request = RequestFactory().post("/")
    request.user = StaffUserFactory(is_superuser=True)
    version = market_fresh(reward.market).catalogue_version
    reward.is_active = False
    admin.site._registry[Product].save_model(request, reward, form=None, change=True)
    assert market_fresh(reward.market).catalogue_version == version + 1
    assert catalogue_for(market_fresh(reward.market)).exchangeable == []
    market = Market.objects.get(pk=reward.market_id)  # opened in the form before the next bump
    product_save(product=reward)
    market.name = "日本 (改)"
    admin.site._registry[Market].save_model(request, market, form=None, change=True)
    saved = market_fresh(market)
    assert (saved.name, saved.catalogue_version) == ("日本 (改)", version + 2)  # not the form's old version


def test_a_product_added_without_a_bump_is_still_found_by_id(db):
    reward = ProductFactory(reward=True)
    market = market_fresh(reward.market)
    catalogue_for(market)
    added = ProductFactory(reward=True, market=reward.market)  # no service: no version bump
    assert catalogue_products(market, [added.pk]) == {added.pk: added}
