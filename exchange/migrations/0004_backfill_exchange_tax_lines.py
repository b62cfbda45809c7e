"""Backfill the tax per rate of exchanges placed before ExchangeTaxLine existed, where the
stored figures determine it exactly.

An exchange stores its reward lines (price 0) and its totals, not the subscription items it
was quoted with. So:

- Nothing but fees (apply now, or a bundle whose subscription items cost 0):
  ``total == charge_incl_tax`` (exchange fee + shipping, tax included), all of it at the
  market's standard rate. One line: (standard rate, total, tax). It is written only when the
  stored figures agree with that rate (the exchange fee's tax, the shipping excl. tax and the
  tax all recompute), so a rate changed since the exchange was placed writes nothing wrong.
- Bundled with subscription items that cost something: their tax rates were not stored (the
  subscription's items may have changed since, and a product's rate with them), so the split
  between the rates cannot be recovered exactly. These keep no lines; pages show their total
  tax only (docs/member-site.md, "Tax by rate").
"""

from django.db import migrations

BATCH_SIZE = 5000


def tax_included_in(amount_incl_tax, rate):
    return amount_incl_tax * rate // (100 + rate)


def fees_only_tax_line(*, rate, exchange_fee_excl_tax, handling_fee_excl_tax, charge_incl_tax, tax, total):
    """(rate, amount incl. tax, tax) of an exchange that charged nothing but fees, or None."""
    if total != charge_incl_tax or total == 0:
        return None
    exchange_fee_incl_tax = exchange_fee_excl_tax + exchange_fee_excl_tax * rate // 100
    handling_fee_incl_tax = charge_incl_tax - exchange_fee_incl_tax
    if handling_fee_incl_tax < 0:
        return None
    if handling_fee_incl_tax - tax_included_in(handling_fee_incl_tax, rate) != handling_fee_excl_tax:
        return None
    if tax_included_in(total, rate) != tax:
        return None
    return (rate, total, tax)


def backfill(apps, schema_editor):
    Exchange = apps.get_model("exchange", "Exchange")
    ExchangeTaxLine = apps.get_model("exchange", "ExchangeTaxLine")
    rows = (
        Exchange.objects.filter(tax_lines__isnull=True)
        .order_by("pk")
        .values_list(
            "pk",
            "member_id",
            "member__market__standard_tax_rate",
            "exchange_fee_excl_tax",
            "handling_fee_excl_tax",
            "charge_incl_tax",
            "tax",
            "total",
        )
    )
    batch = []
    for pk, member_id, rate, fee, handling, charge, tax, total in rows.iterator(chunk_size=BATCH_SIZE):
        line = fees_only_tax_line(
            rate=rate,
            exchange_fee_excl_tax=fee,
            handling_fee_excl_tax=handling,
            charge_incl_tax=charge,
            tax=tax,
            total=total,
        )
        if line is None:
            continue
        rate, amount_incl_tax, tax = line
        batch.append(
            ExchangeTaxLine(member_id=member_id, exchange_id=pk, rate=rate, amount_incl_tax=amount_incl_tax, tax=tax)
        )
        if len(batch) >= BATCH_SIZE:
            ExchangeTaxLine.objects.bulk_create(batch)
            batch = []
    ExchangeTaxLine.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0003_exchange_tax_lines"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
