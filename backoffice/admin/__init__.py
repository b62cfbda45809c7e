"""Every model admin of the project, registered on the back office's site (``backoffice/site.py``).

Django's autodiscovery imports this package; each module registers one area's tables."""

from backoffice.admin import (
    accounts,
    catalogue,
    exchanges,
    fulfilment,
    jobs,
    ledger,
    members,
    notes,
    order_events,
    orders,
)

__all__ = [
    "accounts",
    "catalogue",
    "exchanges",
    "fulfilment",
    "jobs",
    "ledger",
    "members",
    "notes",
    "order_events",
    "orders",
]
