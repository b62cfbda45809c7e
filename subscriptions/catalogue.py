"""Each process keeps a market's products in memory, keyed by the market's catalogue version.

Every member page reads the market with the signed-in user (one query, which it makes anyway),
and with it ``Market.catalogue_version``: when that differs from the version a process loaded
its copy at, the process reads the market's products again. Whatever changes a market's
products calls ``catalogue_changed`` in the same transaction (``product_save``, which the
product admin uses; the demo data), so every process sees the change on its next page. The
market admin never writes the version back (it would hide a product change made meanwhile). The products are a few
dozen rows per market; the wizard's pages then need no query for them (docs/performance.md).

The cached ``Product`` instances are shared by the requests of a process: read them, never
change them (a change goes to the database, then through ``catalogue_changed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F

from subscriptions.models import Market, Product


@dataclass(frozen=True)
class Catalogue:
    market_id: int
    version: int
    products: dict[int, Product]
    # Reward products members can exchange now, as the catalogue page lists them.
    exchangeable: list[Product] = field(default_factory=list)


_catalogues: dict[int, Catalogue] = {}


def catalogue_changed(*, market_id: int) -> None:
    """Call in the transaction that changes a market's products: every process reloads them."""
    Market.objects.filter(pk=market_id).update(catalogue_version=F("catalogue_version") + 1)


def catalogue_for(market: Market) -> Catalogue:
    """The market's products as of ``market.catalogue_version`` (read with the market)."""
    catalogue = _catalogues.get(market.pk)
    if catalogue is None or catalogue.version != market.catalogue_version:
        catalogue = _catalogue_load(market)
    return catalogue


def catalogue_products(market: Market, product_ids) -> dict[int, Product]:
    """The market's products of ``product_ids`` that exist; an id the cached copy lacks (a
    product added since, in a process that missed no version because none was bumped) makes
    the process read the catalogue again once."""
    catalogue = catalogue_for(market)
    if any(product_id not in catalogue.products for product_id in product_ids):
        catalogue = _catalogue_load(market)
    return {
        product_id: catalogue.products[product_id] for product_id in product_ids if product_id in catalogue.products
    }


def catalogue_clear() -> None:
    """Forget every cached catalogue (tests: a new test may reuse a market id)."""
    _catalogues.clear()


def _catalogue_load(market: Market) -> Catalogue:
    products = {product.pk: product for product in Product.objects.filter(market_id=market.pk)}
    exchangeable = sorted(
        (product for product in products.values() if product.is_exchangeable),
        key=lambda product: (product.point_cost, product.sku),
    )
    catalogue = Catalogue(
        market_id=market.pk, version=market.catalogue_version, products=products, exchangeable=exchangeable
    )
    _catalogues[market.pk] = catalogue
    return catalogue
