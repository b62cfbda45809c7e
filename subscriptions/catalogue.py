"""Each process keeps a market's products in memory, keyed by the market's catalogue version.

The database writes the version (migration ``0007_catalogue_version_by_the_database``): any
insert, update or delete of a product — through the admin, ``save()``, ``QuerySet.update()``,
``bulk_create``, a data migration or plain SQL — gives its market a new version in the same
transaction, and every update of a market row gives it a new random one, so an old version is
never written back. Every member page reads the market with the signed-in user (one query it
makes anyway, ``MemberNumberOrEmailBackend.get_user``), and with it the version: when that differs
from the version this process loaded its copy at, it reads the market's products again. So the
first request after a product change commits sees the change, in every process. The products
are a few dozen rows per market; the wizard's pages then need no query for them
(docs/performance.md).

The cached ``Product`` instances are shared by the requests of a process: read them, never
change them (a change goes to the database, which moves the version).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from subscriptions.models import Market, Product


@dataclass(frozen=True)
class Catalogue:
    market_id: int
    version: int
    products: dict[int, Product]
    # Reward products members can exchange now, as the catalogue page lists them.
    exchangeable: list[Product] = field(default_factory=list)


_catalogues: dict[int, Catalogue] = {}


def catalogue_for(market: Market) -> Catalogue:
    """The market's products as of ``market.catalogue_version`` (read with the market)."""
    catalogue = _catalogues.get(market.pk)
    if catalogue is None or catalogue.version != market.catalogue_version:
        catalogue = _catalogue_load(market)
    return catalogue


def catalogue_products(market: Market, product_ids) -> dict[int, Product]:
    """The market's products of ``product_ids`` that exist."""
    products = catalogue_for(market).products
    return {product_id: products[product_id] for product_id in product_ids if product_id in products}


def products_of(market: Market, product_ids) -> dict[int, Product]:
    """The products ``product_ids`` for showing what a member already has (subscription items, the
    box's rewards): from the market's catalogue, and any that moved to another market since in
    one query."""
    products = catalogue_products(market, product_ids)
    missing = set(product_ids) - set(products)
    if missing:
        products |= {product.pk: product for product in Product.objects.filter(pk__in=missing)}
    return products


def catalogue_clear() -> None:
    """Forget every cached catalogue (the tests: a test's rows are rolled back)."""
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
