"""The exchange's fee revenue by month, for finance (docs/admin.md, "The points report").

Per month of a date range (whole days in the market's time zone, both included), the exchanges
placed and not cancelled: the exchange fee and the handling fee (出荷事務手数料, "shipping" on
the confirmation), each without tax, their consumption tax, and what members are charged for
them with tax. Read from the figures recorded when each exchange was placed (the same the
member agreed to), in one grouped query:

- the exchange fee's tax is ``exchange_fee_excl_tax × rate // 100`` per exchange, as the quote
  computed it, at the market's standard rate (a rate change would need the rate kept per
  exchange; today's market has had one);
- the handling fee's tax is the rest of the charge's tax: ``charge_incl_tax −
  exchange_fee_excl_tax − handling_fee_excl_tax − exchange fee tax``, so the two taxes always
  add up to what was charged.

An exchange counts in the month it was placed; cancelling it (possible until its box is
prepared) takes it out of that month's figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, IntegerField, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from exchange.models import Exchange
from ssr_points.reports import day_start, months_between
from subscriptions.models import Market


@dataclass(frozen=True)
class MonthFees:
    month: dt.date
    exchanges: int
    exchange_fee_excl_tax: int
    exchange_fee_tax: int
    handling_fee_excl_tax: int
    handling_fee_tax: int

    @property
    def incl_tax(self) -> int:
        return self.exchange_fee_excl_tax + self.exchange_fee_tax + self.handling_fee_excl_tax + self.handling_fee_tax


def report_fees_by_month(*, market: Market, start: dt.date, end: dt.date) -> list[MonthFees]:
    zone = market.zone
    rate = market.standard_tax_rate
    zero = Value(0, output_field=IntegerField())
    grouped = (
        Exchange.objects.filter(
            member__market=market,
            created_at__gte=day_start(start, zone),
            created_at__lt=day_start(end + dt.timedelta(days=1), zone),
        )
        .exclude(status=Exchange.Status.CANCELLED)
        .annotate(month=TruncMonth("created_at", tzinfo=zone))
        .values("month")
        .annotate(
            exchanges=Count("pk"),
            fee=Coalesce(Sum("exchange_fee_excl_tax"), zero),
            fee_tax=Coalesce(Sum(F("exchange_fee_excl_tax") * rate / 100, output_field=IntegerField()), zero),
            handling=Coalesce(Sum("handling_fee_excl_tax"), zero),
            charged=Coalesce(Sum("charge_incl_tax"), zero),
        )
        .values_list("month", "exchanges", "fee", "fee_tax", "handling", "charged")
        .order_by()
    )
    by_month = {}
    for month, exchanges, fee, fee_tax, handling, charged in grouped:
        key = (month.date() if isinstance(month, dt.datetime) else month).replace(day=1)
        by_month[key] = MonthFees(
            month=key,
            exchanges=exchanges,
            exchange_fee_excl_tax=fee,
            exchange_fee_tax=fee_tax,
            handling_fee_excl_tax=handling,
            handling_fee_tax=charged - fee - handling - fee_tax,
        )
    return [by_month.get(month) or MonthFees(month, 0, 0, 0, 0, 0) for month in months_between(start, end)]
