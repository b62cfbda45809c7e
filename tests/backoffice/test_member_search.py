"""The member search finds what CX agents type, and on PostgreSQL indexes answer it.

At ten million members a search that reads the member table takes tens of seconds:
bench/member_search.py measures it; these tests pin the plans it relies on.
"""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection, models
from django.test import RequestFactory
from django.urls import reverse

from subscriptions.models import Member
from tests.factories import MemberFactory

SEARCH_INDEXES = {
    "member_name_trgm_idx": "subscriptions_member",
    "member_name_kana_trgm_idx": "subscriptions_member",
    "member_phone_digits_trgm_idx": "subscriptions_member",
    "auth_user_email_upper_idx": "auth_user",
}


@pytest.fixture
def hanako(db):
    MemberFactory(name="山本 健一", name_kana="ヤマモト ケンイチ", phone="03-1234-9999", user__email="k@example.jp")
    return MemberFactory(
        member_number="123456",
        name="山田 花子",
        name_kana="ヤマダ ハナコ",
        phone="090-1234-5678",
        user__email="Hanako.Yamada@Example.jp",
    )


def found(client, make_staff, term) -> list[Member]:
    client.force_login(make_staff("cx_agent"))
    response = client.get(reverse("admin:subscriptions_member_changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    "term",
    [
        "123456",  # member number
        "１２３４５６",  # typed with a Japanese IME: full-width digits
        "山田 花子",  # full name, two two-kanji words
        "山田花子",  # without the space
        "花子",
        "ヤマダ ハナコ",
        "ﾔﾏﾀﾞﾊﾅｺ",  # half-width kana
        "hanako.yamada@example.jp",  # email, any case
        "HANAKO.YAMADA@EXAMPLE.JP",
        "090-1234-5678",  # phone as stored
        "09012345678",  # digits only
        "090 1234 5678",
        "０９０－１２３４－５６７８",  # full-width
        "5678",  # the last four digits
        "花子 山田",  # the given name first, as callers often say it
        "ハナコ ヤマダ",
        "花子　山田",  # with a full-width space
        # issue 23: a name without its space in either order, kana as the IME gives it (hiragana)
        "花子山田",
        "ハナコヤマダ",
        "やまだ はなこ",
        "やまだはなこ",
        "はなこ やまだ",
        "はなこやまだ",
        "ﾊﾅｺﾔﾏﾀﾞ",
    ],
)
def test_what_cx_agents_type_finds_the_member(client, make_staff, hanako, term):
    assert found(client, make_staff, term) == [hanako]


def test_a_name_in_either_order_finds_only_members_with_both_words(client, make_staff, hanako):
    MemberFactory(name="花子 山本", name_kana="ハナコ ヤマモト")
    assert found(client, make_staff, "花子 山田") == [hanako]
    assert found(client, make_staff, "山田 花子") == [hanako]


def test_the_exchange_number_or_order_number_the_caller_reads_out_finds_the_member(
    client, make_staff, hanako, grant_points
):
    import uuid

    from exchange.services import exchange_place
    from subscriptions.services import subscription_save
    from tests.factories import ProductFactory

    subscription_save(member=hanako, items={ProductFactory(): 1})
    grant_points(hanako, 100)
    other = MemberFactory(name="別の 会員")
    grant_points(other, 100)
    reward = ProductFactory(reward=True, point_cost=10)
    exchange = exchange_place(member=hanako, lines=[(reward, 1)], ship_now=False, idempotency_key=uuid.uuid4())
    order = hanako.orders.get()
    assert found(client, make_staff, exchange.number) == [hanako]
    assert found(client, make_staff, exchange.number.lower()) == [hanako]
    assert found(client, make_staff, order.number) == [hanako]
    assert found(client, make_staff, f"{order.number} 花子") == [hanako]  # with the name to be sure
    assert found(client, make_staff, f"{order.number} 会員") == []
    assert found(client, make_staff, "EX-NOTATALL1") == []


def test_an_exchange_number_without_a_digit_finds_the_member(client, make_staff, hanako, grant_points):
    """Exchange numbers are drawn from letters and digits: some have no digit at all."""
    import uuid

    from exchange.models import Exchange
    from exchange.services import exchange_place
    from subscriptions.services import subscription_save
    from tests.factories import ProductFactory

    subscription_save(member=hanako, items={ProductFactory(): 1})
    grant_points(hanako, 100)
    exchange = exchange_place(
        member=hanako,
        lines=[(ProductFactory(reward=True, point_cost=10), 1)],
        ship_now=False,
        idempotency_key=uuid.uuid4(),
    )
    Exchange.objects.filter(pk=exchange.pk).update(number="EX-KQWRTZMP")
    assert found(client, make_staff, "EX-KQWRTZMP") == [hanako]
    assert found(client, make_staff, "ex-kqwrtzmp") == [hanako]
    # Read out without its prefix (issue 23), as it stands in a sentence or on a phone.
    assert found(client, make_staff, "KQWRTZMP") == [hanako]
    assert found(client, make_staff, "kqwrtzmp") == [hanako]
    assert found(client, make_staff, "KQWRTZMQ") == []


def test_an_exchange_number_with_digits_without_its_prefix_finds_the_member(client, make_staff, hanako, grant_points):
    import uuid

    from exchange.services import exchange_place
    from subscriptions.services import subscription_save
    from tests.factories import ProductFactory

    subscription_save(member=hanako, items={ProductFactory(): 1})
    grant_points(hanako, 100)
    exchange = exchange_place(
        member=hanako,
        lines=[(ProductFactory(reward=True, point_cost=10), 1)],
        ship_now=False,
        idempotency_key=uuid.uuid4(),
    )
    assert found(client, make_staff, exchange.number.removeprefix("EX-")) == [hanako]
    assert found(client, make_staff, exchange.number.removeprefix("EX-").lower()) == [hanako]


def test_a_surname_alone_is_not_turned_into_another_family(client, make_staff, hanako):
    """Turning a word at each character is for full names (4 characters and more): 山田 does not
    also look for 田山."""
    tayama = MemberFactory(name="田山 一郎", name_kana="タヤマ イチロウ")
    assert found(client, make_staff, "山田") == [hanako]
    assert found(client, make_staff, "田山") == [tayama]
    assert found(client, make_staff, "やまだ") == [hanako]


def test_a_whole_number_also_finds_it_stored_with_the_country_code(client, make_staff, hanako):
    abroad = MemberFactory(phone="+81 90-1234-5678")
    assert set(found(client, make_staff, "090-1234-5678")) == {hanako, abroad}


@pytest.mark.parametrize(
    "term",
    [
        "山田 太郎",  # every word must match
        "other@example.jp",
        "hanako.yamada@example",  # an email matches whole
        "090",  # three digits are too few to look for in phone numbers
        "123457",  # a member number matches whole (and no phone holds these digits)
    ],
)
def test_what_does_not_match_finds_nobody(client, make_staff, hanako, term):
    assert found(client, make_staff, term) == []


# -- the indexes ---------------------------------------------------------------------------------


def search_queryset(term: str):
    model_admin = admin.site._registry[Member]
    queryset, _ = model_admin.get_search_results(RequestFactory().get("/"), Member.objects.all(), term)
    return queryset


@pytest.mark.postgres
def test_the_search_indexes_exist_on_postgresql(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [list(SEARCH_INDEXES)]
        )
        indexes = {name: (table, definition) for name, table, definition in cursor.fetchall()}
    assert {name: table for name, (table, _) in indexes.items()} == SEARCH_INDEXES
    for name in ["member_name_trgm_idx", "member_name_kana_trgm_idx", "member_phone_digits_trgm_idx"]:
        assert "USING gin" in indexes[name][1] and "gin_trgm_ops" in indexes[name][1]
    assert "upper((email)::text)" in indexes["auth_user_email_upper_idx"][1]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("term", "index"),
    [
        ("山田 花子", "member_name_trgm_idx"),
        ("ヤマダハナコ", "member_name_kana_trgm_idx"),
        ("はなこやまだ", "member_name_kana_trgm_idx"),  # hiragana, the words turned
        ("花子山田", "member_name_trgm_idx"),
        ("090-1234-5678", "member_phone_digits_trgm_idx"),
        ("１２３４５６", "subscriptions_member_member_number"),
        ("hanako.yamada@example.jp", "subscriptions_member_user_id"),
    ],
)
def test_postgresql_answers_each_search_from_an_index(hanako, term, index):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: make the planner show its hand
    plan = search_queryset(term).explain()
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.postgres
def test_logins_by_email_read_the_upper_email_index(hanako):
    from django.contrib.auth import get_user_model

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = get_user_model().objects.filter(email__iexact="HANAKO.YAMADA@example.jp").explain()
    assert "auth_user_email_upper_idx" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_the_index_migration_runs_both_ways_and_sqlite_rebuilds_the_member_table(is_postgres):
    call_command("migrate", "subscriptions", "0002", verbosity=0)  # unapplies what depends on 0003 too
    call_command("migrate", verbosity=0)  # every app: later tests need the whole schema back
    with connection.cursor() as cursor:
        member_indexes = connection.introspection.get_constraints(cursor, "subscriptions_member")
    assert ("member_name_trgm_idx" in member_indexes) == is_postgres
    if not is_postgres:
        # SQLite rebuilds a table for most changes, re-creating Meta.indexes: the trigram
        # indexes must come out as nothing there, not as "USING gin".
        phone = Member._meta.get_field("phone")
        longer = models.CharField(max_length=31, blank=True, db_index=True)
        longer.set_attributes_from_name("phone")
        with connection.schema_editor() as editor:
            editor.alter_field(Member, phone, longer)
            editor.alter_field(Member, longer, phone)


# -- the header's search (issue 23: one click less on every call) ---------------------------------


@pytest.mark.parametrize("role", ["cx_agent", "cx_supervisor", "ops", "finance"])
def test_the_member_search_is_in_the_header_of_every_page_for_those_who_see_members(client, make_staff, hanako, role):
    user = make_staff(role)
    client.force_login(user)
    for url in [reverse("admin:index"), reverse("admin:exchange_exchange_changelist")]:
        page = client.get(url)
        if page.status_code == 403:
            continue
        body = page.content.decode()
        assert ('id="member-search"' in body) == user.has_perm("subscriptions.view_member"), (role, url)
        if user.has_perm("subscriptions.view_member"):
            assert f'action="{reverse("admin:member_search")}"' in body


def test_the_header_search_opens_the_member_page_when_one_member_matches(client, make_staff, hanako):
    client.force_login(make_staff("cx_agent"))
    url = reverse("admin:member_search")
    for term in ["09012345678", "はなこやまだ", "123456"]:
        response = client.get(url, {"q": term})
        assert response.status_code == 302
        assert response.url == reverse("admin:subscriptions_member_change", args=[hanako.pk]), term


def test_the_header_search_lists_several_or_no_matches(client, make_staff, hanako):
    MemberFactory(name="山田 太郎", name_kana="ヤマダ タロウ")
    client.force_login(make_staff("cx_agent"))
    url = reverse("admin:member_search")
    changelist = reverse("admin:subscriptions_member_changelist")
    several = client.get(url, {"q": "山田"}, follow=True)
    assert several.redirect_chain[-1][0].startswith(changelist + "?q=")
    assert len(several.context["cl"].result_list) == 2
    nobody = client.get(url, {"q": "存在しない"}, follow=True)
    assert list(nobody.context["cl"].result_list) == []
    assert client.get(url, {"q": "  "}).url == changelist


def test_the_header_search_is_refused_to_roles_that_do_not_see_members(client, make_staff, hanako):
    client.force_login(make_staff("finance"))
    assert client.get(reverse("admin:member_search"), {"q": "123456"}).status_code == 403
