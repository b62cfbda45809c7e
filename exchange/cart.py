"""The exchange wizard's cart, kept in the session between the steps.

It holds only product ids, quantities, the 「今すぐ申し込む」 (apply now) choice, the idempotency key
of its confirmation and, for a bundled cart, the revision of the member's box it started from
(the cart is then the whole box as it is to stand); every figure is recomputed by ``quote_build``
on each page, so nothing the browser or an old page holds about prices, points or fees is ever
used.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from exchange.quotes import MAX_QUANTITY

SESSION_KEY = "exchange_cart"


@dataclass
class Cart:
    quantities: dict[int, int] = field(default_factory=dict)  # reward product id → quantity
    ship_now: bool = False
    # The idempotency key of this cart's confirmation: issued when the cart changes (its session
    # is saved then anyway, so opening the confirmation writes nothing) and kept until the next
    # change, so two tabs or a reload confirm with the same key.
    key: str | None = None
    # Bundled: the revision of the box the quantities started from (None: no box when it started).
    box_revision: int | None = None

    @classmethod
    def load(cls, session) -> Cart:
        data = session.get(SESSION_KEY)
        if not isinstance(data, dict):
            return cls()
        quantities = {}
        for product_id, quantity in (data.get("quantities") or {}).items():
            try:
                product_id, quantity = int(product_id), int(quantity)
            except (TypeError, ValueError):
                continue
            if 1 <= quantity <= MAX_QUANTITY:
                quantities[product_id] = quantity
        key = data.get("key")
        try:
            key = str(uuid.UUID(key)) if key else None
        except (TypeError, ValueError, AttributeError):
            key = None
        revision = data.get("box_revision")
        revision = revision if isinstance(revision, int) and not isinstance(revision, bool) else None
        return cls(quantities=quantities, ship_now=data.get("ship_now") is True, key=key, box_revision=revision)

    def save(self, session) -> None:
        session[SESSION_KEY] = {
            "quantities": {str(product_id): quantity for product_id, quantity in self.quantities.items()},
            "ship_now": self.ship_now,
            "key": self.key,
            "box_revision": self.box_revision,
        }

    @staticmethod
    def clear(session) -> None:
        session.pop(SESSION_KEY, None)

    def __bool__(self) -> bool:
        return bool(self.quantities)

    # -- changes: each one makes the next confirmation a new request (a new key) ------------

    def set_quantity(self, product_id: int, quantity: int) -> None:
        if self.quantities.get(product_id) != quantity:
            self.quantities[product_id] = quantity
            self._key_renew()

    def remove(self, product_id: int) -> None:
        if self.quantities.pop(product_id, None) is not None:
            self._key_renew()

    def set_ship_now(self, ship_now: bool, box_quantities: dict[int, int] | None = None) -> None:
        """Switch between bundled and apply now. With a box (``box_quantities``), what the cart
        adds to the box ships now instead, and back: the box and what was added."""
        if self.ship_now == ship_now:
            return
        self.ship_now = ship_now
        if box_quantities is not None and self.box_revision is not None and ship_now:
            added = {pid: qty - box_quantities.get(pid, 0) for pid, qty in self.quantities.items()}
            self.quantities = {pid: qty for pid, qty in added.items() if qty > 0}
            self.box_revision = None
        self._key_renew()

    def box_start(self, box_quantities: dict[int, int], revision: int) -> tuple[bool, list[int]]:
        """Make a bundled cart the box of ``revision`` and what the cart added on top of the box it
        knew (none: the box as it is). Returns whether the cart's quantities changed, and the
        rewards whose sum went past ``MAX_QUANTITY`` and stop at it."""
        if self.box_revision == revision:
            return False, []
        base, capped = dict(box_quantities), []
        if self.box_revision is None:  # added before there was a box, or carried over from apply now
            for product_id, quantity in self.quantities.items():
                base[product_id] = base.get(product_id, 0) + quantity
                if base[product_id] > MAX_QUANTITY:
                    base[product_id] = MAX_QUANTITY
                    capped.append(product_id)
        changed = base != self.quantities
        self.quantities, self.box_revision = base, revision
        self._key_renew()
        return changed, capped

    def box_gone(self) -> None:
        """The box the cart started from shipped or was cancelled: start again, empty."""
        self.quantities, self.box_revision = {}, None
        self._key_renew()

    def _key_renew(self) -> None:
        self.key = str(uuid.uuid4()) if self.quantities else None

    def confirmation_key(self, session) -> uuid.UUID:
        """The idempotency key the confirmation page issues for this cart (new after a change;
        made here only for a cart saved without one)."""
        if self.key is None:
            self.key = str(uuid.uuid4())
            self.save(session)
        return uuid.UUID(self.key)

    # -- for quote_build ---------------------------------------------------------------------

    def lines(self) -> list[tuple[int, int]]:
        """(product id, quantity) pairs for ``quote_build``."""
        return sorted(self.quantities.items())

    def lines_with(self, product_id: int, quantity: int) -> list[tuple[int, int]]:
        """The cart's lines with ``product_id`` set to ``quantity`` (what the quantity step previews)."""
        quantities = dict(self.quantities)
        quantities[product_id] = quantity
        return sorted(quantities.items())
