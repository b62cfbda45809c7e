"""The finance report: outstanding points and their value, expiring and movements per month,
breakage, an SVG chart and CSVs — grouped SQL whose query count does not grow with members."""

import csv
import datetime as dt
import io

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfilment.services import order_mark_returned
from ssr_points import batches, selectors, services
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
    rows = selectors.report_points_movements_by_month(market=a.market)
    assert len(rows) == 12
    assert rows[-1].month == timezone.localdate(timezone.now(), a.market.zone).replace(day=1)
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
