"""Issue 10, #8 and #10: what staff type or outside systems send is range-checked in the back
office. An id that is not one is a 404, a figure beyond the columns a form error — nothing
written — and a CSV cell a spreadsheet would run as a formula is written as text."""

import csv
import io
import uuid

import pytest
from django.urls import reverse

from backoffice.downloads import csv_cell
from ssr_points.models import Entry, Lot, PointAccount
from tests.factories import MarketFactory, MemberFactory


def ledger_rows():
    return (Entry.objects.count(), Lot.objects.count(), list(PointAccount.objects.values_list("balance", "debt")))


@pytest.mark.parametrize("object_id", ["abc", "1e99", "99999999999999999999", "-1", "0", "1 OR 1=1"])
def test_an_adjust_points_url_whose_member_id_is_not_a_member_is_404(client, make_staff, bank_member, object_id):
    client.force_login(make_staff(superuser=True))
    url = f"/admin/subscriptions/member/{object_id}/adjust-points/"
    before = ledger_rows()
    assert client.get(url).status_code == 404
    posted = client.post(url, {"points": 10, "reason": "補填", "idempotency_key": str(uuid.uuid4()), "confirm": "1"})
    assert posted.status_code == 404
    assert ledger_rows() == before


@pytest.mark.parametrize("object_id", ["99999999999999999999", "0"])
def test_a_place_for_member_url_whose_member_id_is_not_a_member_is_404(client, make_staff, object_id):
    client.force_login(make_staff(superuser=True))
    assert client.get(f"/admin/exchange/exchange/place-for/{object_id}/").status_code == 404


def test_a_place_for_member_url_with_letters_is_not_a_page(client, make_staff):
    """Not the view's pattern (``<int:…>``): the admin takes it for an exchange id and says there is none."""
    client.force_login(make_staff(superuser=True))
    response = client.get("/admin/exchange/exchange/place-for/abc/", follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == reverse("admin:index")


@pytest.mark.parametrize("points", ["99999999999999999999", "-99999999999999999999", "1000001", "9" * 5000])
def test_an_adjustment_beyond_the_columns_is_a_form_error_and_writes_nothing(
    client, make_staff, bank_member, points, settings
):
    settings.LANGUAGE_CODE = "en"
    client.force_login(make_staff(superuser=True))  # no per-adjustment limit: only the range stops it
    url = reverse("admin:subscriptions_member_adjust_points", args=[bank_member.pk])
    data = {"points": points, "reason": "桁あふれ", "idempotency_key": str(uuid.uuid4())}
    before = ledger_rows()
    for step in ("preview", "confirm"):
        response = client.post(url, {**data, step: "1"})
        assert response.status_code == 200
        assert response.context["form"].errors["points"], step
        assert response.context["confirming"] is False
    assert ledger_rows() == before


def test_the_largest_adjustment_the_form_allows_is_recorded(client, make_staff, bank_member, assert_ledger_ok):
    client.force_login(make_staff(superuser=True))
    url = reverse("admin:subscriptions_member_adjust_points", args=[bank_member.pk])
    data = {"points": "1000000", "reason": "上限の確認", "idempotency_key": str(uuid.uuid4()), "confirm": "1"}
    assert client.post(url, data).status_code == 302
    assert Entry.objects.get(member=bank_member, kind=Entry.Kind.ADJUSTMENT).points == 1_000_000
    assert_ledger_ok()


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM", "\tX", "\rX"])
def test_a_text_cell_that_a_spreadsheet_would_evaluate_is_written_as_text(text):
    assert csv_cell(text) == "'" + text
    assert csv_cell("JP") == "JP" and csv_cell(-20) == -20 and csv_cell("12.5%") == "12.5%"


def test_a_market_code_written_as_a_formula_is_neutralised_in_every_report_csv_and_its_file_name(
    client, make_staff, grant_points, db
):
    market = MarketFactory(code="=1+2", name="=HYPERLINK(1)")
    grant_points(MemberFactory(market=market), 10)
    client.force_login(make_staff("finance"))
    for table in ["outstanding", "expiring", "movements"]:
        response = client.get(reverse("admin:points_report_csv", args=[table]), {"market": "=1+2"})
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        file_name = disposition.split('filename="', 1)[1].rstrip('"')
        assert not set(file_name) & set('=+@"\t\r;'), disposition
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        cells = [cell for row in rows for cell in row]
        assert not [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")], (table, cells)
        assert not [cell for cell in cells if cell.startswith("-") and not cell.lstrip("-").isdigit()], cells
        if table == "outstanding":
            assert rows[1][0] == "'=1+2"
        else:
            assert file_name.startswith(f"points-{table}-1_2-"), file_name
