"""Hostile input on every member form: never a 500, never a ledger change, never reflected markup.

Hypothesis posts random and hand-picked hostile values — huge and negative numbers, unicode,
NUL bytes, SQL and HTML fragments — with any subset of each form's fields (missing fields
included) to every form a member can submit, and to the URLs that carry a number.
"""

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssr_points.checks import ledger_check
from tests.security.conftest import ledger_state

SCRIPT = "<script>"
HOSTILE = [
    "<script>alert(1)</script>",
    '"><script>alert(document.cookie)</script>',
    "<img src=x onerror=alert(1)>",
    "' OR '1'='1",
    "1; DROP TABLE ssr_points_entry; --",
    "1 UNION SELECT password FROM auth_user",
    "\x00",
    "1\x00",
    "{{ request }}",
    "{% debug %}",
    "../../etc/passwd",
    "９９",
    "٣",
    "1e309",
    "NaN",
    "-0",
    "0x10",
    " 7 ",
    "🎁" * 40,
    "x" * 5000,
]
NUMBERS = ["", "0", "1", "-1", "99", "100", "101", str(2**31), str(2**63), str(-(2**63) - 1), "9" * 40]

values = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(NUMBERS),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(max_size=200),
)


def form_data(fields):
    return st.dictionaries(keys=st.sampled_from(fields), values=values, max_size=len(fields))


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def setup(subscribed_member, place, catalogue):
    member = subscribed_member()
    exchange = place(member)
    client = Client()
    client.force_login(member.user)
    return {"member": member, "exchange": exchange, "client": client, "catalogue": catalogue}


def check(response, before):
    assert response.status_code < 500
    assert SCRIPT not in response.content.decode("utf-8", "replace"), "hostile markup reflected unescaped"
    assert ledger_state() == before
    assert ledger_check() == []


def post(client, url, data):
    return client.post(url, data)


@given(data=form_data(["username", "password", "next"]))
@FUZZ
def test_login_form(setup, data):
    before = ledger_state()
    check(post(Client(), reverse("login"), data), before)


@given(data=form_data(["next_shipment_date", "quantity_{sunrise}", "quantity_{reward}", "quantity_999999"]))
@FUZZ
def test_subscription_form(setup, data):
    catalogue = setup["catalogue"]
    names = {"sunrise": catalogue["sunrise"].pk, "reward": catalogue["reward"].pk}
    data = {key.format(**names): value for key, value in data.items()}
    before = ledger_state()
    check(post(setup["client"], reverse("subscription"), data), before)


@given(data=form_data(["quantity", "action", "ship_now"]), product=st.sampled_from(["reward", "sunrise", "missing"]))
@FUZZ
def test_quantity_form(setup, data, product):
    product_id = setup["catalogue"][product].pk if product != "missing" else 2**62
    before = ledger_state()
    check(post(setup["client"], reverse("exchange:quantity", args=[product_id]), data), before)


@given(data=form_data(["ship_now"]))
@FUZZ
def test_catalogue_form(setup, data):
    before = ledger_state()
    check(post(setup["client"], reverse("exchange:catalogue"), data), before)


@given(data=form_data(["remove", "ship_now"]))
@FUZZ
def test_bundle_form(setup, data):
    client = setup["client"]
    client.post(reverse("exchange:quantity", args=[setup["catalogue"]["reward"].pk]), {"quantity": 1})
    before = ledger_state()
    check(post(client, reverse("exchange:bundle"), data), before)


@given(data=form_data(["idempotency_key", "fingerprint", "agree"]))
@FUZZ
def test_confirm_form(setup, data):
    """Without the fingerprint the confirmation page issued, nothing can be placed."""
    client = setup["client"]
    client.post(reverse("exchange:quantity", args=[setup["catalogue"]["reward"].pk]), {"quantity": 2})
    before = ledger_state()
    check(post(client, reverse("exchange:confirm"), data), before)


@given(data=form_data(["message", "contact_phone"]))
@FUZZ
def test_exchange_request_form(setup, data):
    before = ledger_state()
    check(post(setup["client"], reverse("exchange:request"), data), before)


@given(number=values.filter(lambda value: "/" not in value and value))
@FUZZ
def test_urls_with_an_exchange_number(setup, number):
    client = setup["client"]
    before = ledger_state()
    for name in ["exchange:done", "exchange:detail"]:
        check(client.get(reverse(name, kwargs={"number": number})), before)
    check(client.post(reverse("exchange:cancel", kwargs={"number": number})), before)


@given(page=values, ship_now=values)
@FUZZ
def test_query_strings(setup, page, ship_now):
    client = setup["client"]
    before = ledger_state()
    for name in ["home", "exchange:list", "exchange:catalogue", "exchange:bundle"]:
        check(client.get(reverse(name), {"page": page, "ship_now": ship_now}), before)


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/exchange/done/%00/", {}),
        ("get", "/exchange/history/EX-%00/", {}),
        ("post", "/exchange/history/%00/cancel/", {}),
        ("get", "/exchange/", {"page": "1\x00"}),
        ("get", "/admin/subscriptions/member/", {"q": "\x00"}),
        ("post", "/exchange/request/", {"message": "x\x00"}),
    ],
)
def test_nul_bytes_are_refused_before_any_query(setup, method, url, data):
    """PostgreSQL text cannot hold NUL: such a request is a 400, never a 500."""
    before = ledger_state()
    response = getattr(setup["client"], method)(url, data)
    assert response.status_code == 400
    assert ledger_state() == before
