"""The finance report: outstanding points and their value, expiring and movements per month,
breakage, an SVG chart and CSVs — grouped SQL whose query count does not grow with members."""

import csv
import datetime as dt
import io
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfilment.services import order_mark_returned
from ssr_points import batches, reports, selectors, services
from tests.factories import MemberFactory


def scenario(grant_points):
    """A: 100 (expires in ~5 months, 30 redeemed) + 50 (expires in 12 months); B: 40 expired;
    C: 20 granted and spent, then its order returned → debt 20."""
    now = timezone.now()
    a, b, c = MemberFactory(), MemberFactory(), MemberFactory()
    old = grant_points(a, 100, at=now - dt.timedelta(days=200))
    grant_points(a, 50, at=now - dt.timedelta(days=1))
    services.points_redeem(member=a, points=30, reference="EX-1", reason="交換")
    grant_points(b, 40, at=now - dt.timedelta(days=400))
    batches.points_expire_due()
    c_lot = grant_points(c, 20, at=now - dt.timedelta(days=10))
    services.points_redeem(member=c, points=20, reference="EX-2", reason="交換")
    order_mark_returned(order=c_lot.order, reason="返品")
    return a, old


def test_outstanding_points_are_unexpired_lots_less_debt_valued_at_the_market_setting(
    db, grant_points, assert_ledger_ok
):
    scenario(grant_points)
    [row] = selectors.report_points_outstanding()
    assert (row.points, row.value) == (70 + 50 - 20, 100 * row.market.point_value)
    assert_ledger_ok()


def test_points_expiring_per_month_for_the_next_12_months(db, grant_points):
    a, old = scenario(grant_points)
    rows = selectors.report_points_expiring_by_month(market=a.market)
    assert len(rows) == 12
    expiry_month = timezone.localtime(old.expires_at, a.market.zone).date().replace(day=1)
    assert {row.month: row.points for row in rows if row.points} == {expiry_month: 70}
    assert rows[0].month == timezone.localdate(timezone.now(), a.market.zone).replace(day=1)


def test_granted_redeemed_expired_and_breakage_over_the_last_12_months(db, grant_points):
    a, _ = scenario(grant_points)
    today = timezone.localdate(timezone.now(), a.market.zone)
    months = today.year * 12 + today.month - 1 - 11  # the 12 months to this one
    first = dt.date(months // 12, months % 12 + 1, 1)
    rows = reports.report_points_movements(market=a.market, start=first, end=today)
    assert len(rows) == 12
    assert rows[-1].month == today.replace(day=1)
    totals = {
        field: sum(getattr(row, field) for row in rows)
        for field in ["granted", "redeemed", "expired", "clawed_back", "adjusted"]
    }
    assert totals == {"granted": 170, "redeemed": 50, "expired": 40, "clawed_back": 20, "adjusted": 0}
    this_month = rows[-1]
    assert this_month.breakage_rate == 40 / (this_month.redeemed + 40)


def test_the_report_page_draws_an_svg_chart_without_scripts_and_offers_csvs(client, make_staff, grant_points):
    scenario(grant_points)
    client.force_login(make_staff("finance"))
    page = client.get(reverse("admin:points_report"))
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count('<svg class="ssr-chart"') == 2 and "<rect" in body
    assert "<script" not in body.split('id="content-main"')[1]
    assert "10,000" in body  # 100 points × 100
    for table in ["outstanding", "expiring", "movements"]:
        response = client.get(reverse("admin:points_report_csv", args=[table]), {"market": "JP"})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) == (2 if table == "outstanding" else 13)
    outstanding = client.get(reverse("admin:points_report_csv", args=["outstanding"]))
    assert list(csv.reader(io.StringIO(outstanding.content.decode("utf-8-sig"))))[1][:4] == [
        "JP",
        "100",
        "100",
        "10000",
    ]
    assert client.get(reverse("admin:points_report_csv", args=["nope"])).status_code == 404


def test_the_reports_queries_do_not_grow_with_the_number_of_members(client, make_staff, grant_points):
    client.force_login(make_staff("finance"))
    grant_points(MemberFactory(), 10)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("admin:points_report"))
    for _ in range(10):
        grant_points(MemberFactory(), 10)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("admin:points_report"))
    assert len(many) == len(few)


def test_chart_axis_quarters_are_whole_numbers():
    from backoffice.charts import bar_chart

    for top in [0, 1, 3, 36, 50, 117, 500, 12_345]:
        chart = bar_chart(categories=["a", "b"], series=[("s", [top, top // 2])])
        labels = [int(label.text.replace(",", "")) for label in chart.y_labels]
        assert labels[-1] >= top and all(labels[-1] * i // 4 == labels[i] for i in range(5)), labels
        assert max(bar.height for bar in chart.bars) <= chart.plot_bottom


def test_points_expiring_are_counted_in_the_month_of_their_last_valid_day(db, grant_points):
    """A lot that expires at 2027-01-01 00:00 JST is last usable on 31 December 2026: December's.
    So is the window's edge: at 2027-11-01 00:00 the last valid day is 31 October, the 12th month."""
    import zoneinfo

    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    member = MemberFactory()

    def lot_granted_on(day: dt.date, points: int):
        lot = grant_points(member, points, at=dt.datetime.combine(day, dt.time(10), tzinfo=tokyo))
        assert lot.expires_at == dt.datetime(day.year + 1, day.month, day.day, tzinfo=tokyo)
        return lot

    lot_granted_on(dt.date(2025, 12, 1), 1)  # expires 2026-12-01 00:00 → valid until 30 Nov: November
    lot_granted_on(dt.date(2025, 12, 2), 2)  # → 1 Dec: December
    lot_granted_on(dt.date(2026, 1, 1), 4)  # expires 2027-01-01 00:00 → 31 Dec: December
    lot_granted_on(dt.date(2026, 1, 2), 8)  # → 1 Jan 2027: January
    lot_granted_on(dt.date(2026, 11, 1), 16)  # expires 2027-11-01 00:00 → 31 Oct 2027: the 12th month
    lot_granted_on(dt.date(2026, 11, 2), 32)  # → 1 Nov 2027: beyond the 12 months

    rows = selectors.report_points_expiring_by_month(
        market=member.market, at=dt.datetime(2026, 11, 15, 12, tzinfo=tokyo)
    )
    by_month = {f"{row.month:%Y-%m}": row for row in rows}
    assert [f"{row.month:%Y-%m}" for row in rows][::11] == ["2026-11", "2027-10"]
    assert {month: row.points for month, row in by_month.items() if row.points} == {
        "2026-11": 1,
        "2026-12": 2 + 4,
        "2027-01": 8,
        "2027-10": 16,
    }
    assert by_month["2026-12"].soonest_expires_at == dt.datetime(2026, 12, 2, tzinfo=tokyo)


# -- issue 23, finance: any date range, fee revenue with its tax by month, numeric CSV columns ------


def csv_rows(client, table, **params):
    response = client.get(reverse("admin:points_report_csv", args=[table]), params)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def tokyo_at(*args):
    import zoneinfo

    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))


def test_the_points_report_covers_any_date_range_by_month(client, make_staff, grant_points):
    member = MemberFactory()
    grant_points(member, 10, at=tokyo_at(2025, 1, 14, 23, 59))  # the day before the range
    grant_points(member, 20, at=tokyo_at(2025, 1, 15, 0, 0))  # its first instant
    grant_points(member, 40, at=tokyo_at(2025, 3, 10, 23, 59))  # its last day
    grant_points(member, 80, at=tokyo_at(2025, 3, 11, 0, 0))  # after it
    services.points_redeem(member=member, points=5, reference="EX-1", reason="交換", now=tokyo_at(2025, 2, 3, 12))
    client.force_login(make_staff("finance"))

    page = client.get(reverse("admin:points_report"), {"market": "JP", "start": "2025-01-15", "end": "2025-03-10"})
    rows = page.context["tables"]["movements"][1]
    assert [(row[0], row[1], row[3]) for row in rows] == [("2025-01", 20, 0), ("2025-02", 0, 5), ("2025-03", 40, 0)]
    assert "2025年1月15日〜2025年3月10日" in page.content.decode()
    # Three years at once, in the page and in its CSV (a month a row).
    long = csv_rows(client, "movements", market="JP", start="2023-01-01", end="2025-12-31")
    assert len(long) == 1 + 36 and long[1][0] == "2023-01" and long[-1][0] == "2025-12"
    assert sum(int(row[1]) for row in long[1:]) == 10 + 20 + 40 + 80


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2025-03-10", "end": "2025-01-15"},  # ends before it starts
        {"start": "1990-01-01", "end": "2025-01-01"},  # far more than ten years
        {"start": "not a date"},
        {"start": "2025-13-45"},
    ],
)
def test_a_range_that_is_not_one_is_said_and_the_last_12_months_shown(client, make_staff, params):
    from tests.factories import MarketFactory

    MarketFactory()
    client.force_login(make_staff("finance"))
    page = client.get(reverse("admin:points_report"), {"market": "JP", **params})
    assert page.status_code == 200
    assert 'class="errornote"' in page.content.decode() and "直近12か月を表示しています" in page.content.decode()
    assert len(page.context["tables"]["movements"][1]) == 12


def place(member, product, *, ship_now, at, staff_user):
    """An exchange placed today, dated ``at`` (the member's points are today's)."""
    from exchange.models import Exchange
    from exchange.services import exchange_place

    exchange = exchange_place(
        member=member,
        lines=[(product, 1)],
        ship_now=ship_now,
        idempotency_key=uuid.uuid4(),
        staff_user=staff_user,  # a bank-transfer member: CX places for them
    )
    Exchange.objects.filter(pk=exchange.pk).update(created_at=at)
    return exchange


def test_exchange_and_handling_fee_revenue_with_their_tax_by_month(
    client, make_staff, guide_bank_member, guide_products
):
    from exchange.models import Exchange
    from exchange.services import exchange_cancel

    member, reward, agent = guide_bank_member, guide_products["reward"], make_staff("cx_agent")
    assert not Exchange.objects.exists()
    # Bundled (¥1,400 + tax ¥140, handling waived), then apply now (+ handling ¥1,000 + tax ¥100).
    place(member, reward, ship_now=False, at=tokyo_at(2025, 4, 30, 23, 50), staff_user=agent)
    place(member, reward, ship_now=True, at=tokyo_at(2025, 5, 1, 0, 10), staff_user=agent)
    cancelled = place(member, reward, ship_now=True, at=tokyo_at(2025, 5, 2, 9), staff_user=agent)
    exchange_cancel(exchange=cancelled)
    client.force_login(make_staff("finance"))

    page = client.get(reverse("admin:points_report"), {"market": "JP", "start": "2025-04-01", "end": "2025-06-30"})
    body = page.content.decode()
    assert [row[1:] for row in page.context["tables"]["fees"][1]] == [
        [1, 1400, 140, 0, 0, 1540],
        [1, 1400, 140, 1000, 100, 2640],
        [0, 0, 0, 0, 0, 0],
    ]
    assert "¥1,400" in body and "¥2,640" in body and "¥4,180" in body  # the range's total
    fees = csv_rows(client, "fees", market="JP", start="2025-04-01", end="2025-06-30")
    assert fees[0][0] == "月" and len(fees[0]) == 7
    assert fees[1:] == [
        ["2025-04", "1", "1400", "140", "0", "0", "1540"],
        ["2025-05", "1", "1400", "140", "1000", "100", "2640"],
        ["2025-06", "0", "0", "0", "0", "0", "0"],
    ]


def test_every_numeric_csv_column_is_a_number_or_blank_never_a_dash(client, make_staff, grant_points):
    scenario(grant_points)
    client.force_login(make_staff("finance"))
    for table in ["outstanding", "expiring", "movements", "fees"]:
        header, *rows = csv_rows(client, table, market="JP")
        assert rows, table
        for row in rows:
            assert "–" not in row and "—" not in row and "-" not in row, (table, row)
            for column, cell in enumerate(row):
                if column == 0 or header[column] in ("通貨", "最も早い最終有効日"):
                    continue  # the month or market, the currency code, a date
                assert cell == "" or float(cell) == float(cell), (table, header[column], cell)
    movements = csv_rows(client, "movements", market="JP")
    breakage = [row[-1] for row in movements[1:]]
    assert "" in breakage  # months without redemption or expiry: blank
    assert any(cell not in ("", "0", "0.0") and float(cell) > 0 for cell in breakage)  # 44.4 (%), a number
