"""The products of the exchanges in the member's points history, the ledger's page below this app.

Where the database can order an aggregate (PostgreSQL; SQLite from 3.44), each redemption and
reversal of the history reads its exchange's products in the same query as the entries: a
column per language that this app adds to the ledger's history (``HISTORY_COLUMNS``) when the
apps are ready, one round trip fewer on home (docs/performance.md). Elsewhere
``{% exchange_lines_attach %}`` reads them in one more query for the page. Either way the text is
「name × quantity」 per reward line, in SKU order, joined with 「、」.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Case, CharField, F, OuterRef, Subquery, TextField, Value, When
from django.db.models.aggregates import StringAgg
from django.db.models.functions import Cast, Coalesce, Concat

from exchange.models import ExchangeLine
from ssr_points.selectors import HISTORY_COLUMNS

EXCHANGE_KINDS = ("redemption", "reversal")
SEPARATOR, TIMES = "、", " × "  # between the lines; between a product and its quantity
PRODUCTS_COLUMNS = {"ja": "exchange_products_ja", "en": "exchange_products_en"}  # as Product.name


def line_text(product_name: str, quantity: int) -> str:
    return f"{product_name}{TIMES}{quantity}"


def _products(name_field: str):
    """The entry's exchange's products, or "" for an entry of another kind."""
    lines = (
        ExchangeLine.objects.filter(
            member_id=OuterRef("member_id"),
            exchange__member_id=OuterRef("member_id"),
            exchange__number=OuterRef("reference"),
        )
        .order_by()
        .values("exchange_id")
        .annotate(
            text=StringAgg(
                Concat(F(f"product__{name_field}"), Value(TIMES), Cast("quantity", CharField())),
                delimiter=Value(SEPARATOR),
                order_by="product__sku",
            )
        )
        .values("text")
    )
    exchange_products = When(kind__in=EXCHANGE_KINDS, then=Coalesce(Subquery(lines), Value("")))
    return Case(exchange_products, default=Value(""), output_field=TextField())


def history_columns_add() -> None:
    """Called once the apps are ready, before the ledger's history compiles its first page."""
    if connection.features.supports_aggregate_order_by_clause:
        HISTORY_COLUMNS.update({column: _products(f"name_{language}") for language, column in PRODUCTS_COLUMNS.items()})
