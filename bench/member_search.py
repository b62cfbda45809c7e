"""Benchmark: the back office's member search on PostgreSQL, with and without its indexes.

Builds (database ``ssr_bench_search``, recreated) ``--members`` members with Japanese names,
kana, phones in three formats and emails, without the search indexes; then migrates, which
builds them (timed). For each kind of search a CX agent makes it times the member
changelist as the admin runs it (the search, the count, the first page of 100, with its
annotated columns) and prints the plan's scan nodes, in four settings:

- ``stock, no idx``: Django admin's own search and ordering over the same ``search_fields``,
  no trigram or email index — the search as it was;
- ``stock, idx``: Django's search with the indexes (its email ``OR`` across the join defeats them);
- ``ours, no idx`` and ``ours, idx``: ``subscriptions.search.members_search`` without / with them.

"Without" drops the indexes inside a transaction that is rolled back.

    .venv/bin/python -m bench.member_search [--members 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import psycopg

from bench.database import database_recreate, database_url, django_setup, timed

DB = "ssr_bench_search"
INDEXES = [
    "member_name_trgm_idx",
    "member_name_kana_trgm_idx",
    "member_phone_digits_trgm_idx",
    "auth_user_email_upper_idx",
]
SURNAMES = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("長谷川", "ハセガワ"),
    ("小川", "オガワ"),
    ("後藤", "ゴトウ"),
    ("岡田", "オカダ"),
    ("村上", "ムラカミ"),
    ("近藤", "コンドウ"),
    ("坂本", "サカモト"),
    ("遠藤", "エンドウ"),
    ("藤田", "フジタ"),
    ("西村", "ニシムラ"),
    ("福田", "フクダ"),
    ("太田", "オオタ"),
    ("三浦", "ミウラ"),
    ("五十嵐", "イガラシ"),
]
GIVEN_NAMES = [
    ("花子", "ハナコ"),
    ("太郎", "タロウ"),
    ("陽菜", "ヒナ"),
    ("大翔", "ヒロト"),
    ("結衣", "ユイ"),
    ("蓮", "レン"),
    ("美咲", "ミサキ"),
    ("翔太", "ショウタ"),
    ("由美子", "ユミコ"),
    ("健一", "ケンイチ"),
    ("恵子", "ケイコ"),
    ("誠", "マコト"),
    ("さくら", "サクラ"),
    ("大輔", "ダイスケ"),
    ("真由美", "マユミ"),
    ("浩二", "コウジ"),
    ("愛", "アイ"),
    ("拓也", "タクヤ"),
    ("優子", "ユウコ"),
    ("直樹", "ナオキ"),
    ("明美", "アケミ"),
    ("和也", "カズヤ"),
    ("久美子", "クミコ"),
    ("隆", "タカシ"),
    ("智子", "トモコ"),
    ("修", "オサム"),
    ("裕子", "ユウコ"),
    ("亮", "リョウ"),
    ("千尋", "チヒロ"),
    ("悠真", "ユウマ"),
]


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]"


def build(*, members: int) -> None:
    """Members (with logins and point accounts) first, the search indexes after: as in production."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("migrate", "subscriptions", "0002", verbosity=0)  # unapplied: the search indexes come later
    surnames, surname_kana = zip(*SURNAMES, strict=True)
    given, given_kana = zip(*GIVEN_NAMES, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscriptions_market (code, name, currency, time_zone, reduced_tax_rate, standard_tax_rate, "
            "exchange_fee_per_100_points, handling_fee_incl_tax, free_handling_threshold_incl_tax, "
            "earn_rate_schedule, point_value, cx_phone, cx_email) VALUES ('JP', '日本', 'JPY', 'Asia/Tokyo', 8, 10, "
            "1400, 1100, 12000, '[[1, 10], [4, 15], [7, 20], [10, 25], [13, 30]]', 100, '', '') RETURNING id"
        )
        market_id = cursor.fetchone()[0]
        # Emails as entered: every third one capitalised.
        cursor.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) SELECT '!', false, (200000 + g)::text, '', '', "
            "CASE WHEN g %% 3 = 0 THEN 'Member.' || g || '@Bench.example' ELSE 'member.' || g || '@bench.example' END, "
            "false, true, now() FROM generate_series(1, %s) AS g",
            [members],
        )
        # Names "surname given" (a third without the space), kana; phones in three formats.
        cursor.execute(
            f"""
            INSERT INTO subscriptions_member (user_id, member_number, market_id, name, name_kana, phone,
                                              payment_method, joined_at)
            SELECT u.id, u.username, %s,
                   s.name[1 + k %% {len(surnames)}] || CASE WHEN u.id %% 3 = 0 THEN '' ELSE ' ' END
                       || g.name[1 + (k / {len(surnames)}) %% {len(given)}],
                   s.kana[1 + k %% {len(surnames)}] || ' ' || g.kana[1 + (k / {len(surnames)}) %% {len(given)}],
                   CASE k %% 3 WHEN 0 THEN p.area || '-' || p.mid || '-' || p.last
                              WHEN 1 THEN p.area || p.mid || p.last
                              ELSE '+81 ' || substr(p.area, 2) || '-' || p.mid || '-' || p.last END,
                   'card', now()
            FROM auth_user AS u
            CROSS JOIN LATERAL (SELECT u.id * 7919 %% 1000003 AS k) AS key
            CROSS JOIN (SELECT {_sql_array(list(surnames))} AS name, {_sql_array(list(surname_kana))} AS kana) AS s
            CROSS JOIN (SELECT {_sql_array(list(given))} AS name, {_sql_array(list(given_kana))} AS kana) AS g
            CROSS JOIN LATERAL (SELECT (ARRAY['090', '080', '070'])[1 + u.id %% 3] AS area,
                                       substr(x.digits, 1, 4) AS mid, substr(x.digits, 5, 4) AS last
                                FROM (SELECT lpad((u.id * 2654435761 %% 100000000)::text, 8, '0') AS digits) AS x) AS p
            ORDER BY u.id
            """,
            [market_id],
        )
        # What the changelist's columns read: two open lots (balance) and an active subscription each.
        cursor.execute(
            "INSERT INTO ssr_points_lot (member_id, amount, remaining, expired, granted_at, expires_at) "
            "SELECT m.id, 50, 50, 0, now() - k * interval '30 days', now() + (12 - k) * interval '30 days' "
            "FROM generate_series(1, 2) AS k CROSS JOIN subscriptions_member AS m ORDER BY k, m.id"
        )
        cursor.execute(
            "INSERT INTO ssr_points_pointaccount (member_id, balance, debt, updated_at) "
            "SELECT id, 100, 0, now() FROM subscriptions_member ORDER BY id"
        )
        cursor.execute(
            "INSERT INTO subscriptions_subscription (member_id, status, next_shipment_date, months_subscribed, "
            "created_at, updated_at) SELECT id, 'active', current_date + 7, 3, now(), now() "
            "FROM subscriptions_member ORDER BY id"
        )
    connection.close()
    with psycopg.connect(database_url(DB), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def changelist_seconds(model_admin, request, term: str, *, stock: bool, repeat: int) -> tuple[float, int, str]:
    """Median seconds of the changelist's search, count and first page; the matches; the plan's scans."""
    from django.contrib import admin

    def search(request, queryset, search_term):
        return admin.ModelAdmin.get_search_results(model_admin, request, queryset, search_term)

    def ordering(request):
        return admin.ModelAdmin.get_ordering(model_admin, request)

    if stock:
        model_admin.get_search_results = search
        model_admin.get_ordering = ordering
    try:
        request.GET = request.GET.copy()
        request.GET["q"] = term
        seconds = []
        for _ in range(repeat):
            started = time.monotonic()
            changelist = model_admin.get_changelist_instance(request)
            changelist.get_results(request)
            page = list(changelist.result_list)
            seconds.append(time.monotonic() - started)
        plan = changelist.queryset[: changelist.list_per_page].explain()
    finally:
        if stock:
            del model_admin.get_search_results, model_admin.get_ordering
    scans = []
    for line in plan.splitlines():
        match = re.search(
            r"((?:Parallel )?(?:Seq Scan|Bitmap Index Scan) on \S+|Index (?:Only )?Scan.* using \S+)", line
        )
        if match and match.group(1) not in scans:
            scans.append(match.group(1))
    assert len(page) == min(changelist.result_count, changelist.list_per_page)
    return statistics.median(seconds), changelist.result_count, "; ".join(scans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per search (the median is printed)")
    parser.add_argument("--reuse-db", action="store_true", help="keep the database built by a previous run")
    args = parser.parse_args()

    if not args.reuse_db:
        database_recreate(DB)
    django_setup(DB)
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import RequestFactory

    from subscriptions.models import Member

    if not args.reuse_db:
        with timed(f"build {args.members:,} members (generate_series)"):
            build(members=args.members)
        with timed("migrate: CREATE EXTENSION pg_trgm and the four indexes, CONCURRENTLY"):
            call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes "
            "WHERE indexrelname = ANY(%s) ORDER BY indexrelname",
            [INDEXES],
        )
        sizes = cursor.fetchall()
    loaded = Member.objects.count()
    print(f"\n  members loaded: {loaded:,}")
    for name, size in sizes:
        print(f"  index {name}: {size}")

    target = Member.objects.select_related("user").order_by("pk")[loaded // 2]
    digits = re.sub(r"\D", "", target.phone)
    local_digits = "0" + digits.removeprefix("81") if target.phone.startswith("+81") else digits
    searches = [
        ("(no search: first page)", ""),
        ("member number", target.member_number),
        ("email, other case", target.user.email.upper()),
        ("kana, full name", target.name_kana),
        ("kana, surname", target.name_kana.split()[0]),
        ("name, two 2-kanji words", "山田 花子"),
        ("name, without the space", "山本健一"),
        ("name, 3 characters", "佐々木"),
        ("name, 2 characters only", "山田"),
        ("phone, as stored", target.phone),
        ("phone, digits only", local_digits),
        ("phone, spaced", f"{local_digits[:3]} {local_digits[3:7]} {local_digits[7:]}"),
        ("phone, full-width", local_digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
        ("phone, last 4 digits", digits[-4:]),
        ("no match (typo)", target.name_kana.replace(" ", "") + "ア"),
    ]
    staff = get_user_model().objects.filter(username="bench-cx").first() or get_user_model().objects.create_superuser(
        "bench-cx", "bench-cx@bench.example", None
    )
    request = RequestFactory().get("/admin/subscriptions/member/")
    request.user = staff
    model_admin = admin.site.get_model_admin(Member)

    settings_ = [("stock, no idx", True, False), ("stock, idx", True, True), ("ours, no idx", False, False)]
    settings_.append(("ours, idx", False, True))
    results: dict[tuple[str, str], tuple[float, int, str]] = {}
    for label, stock, indexed in settings_:
        with timed(label), transaction.atomic():
            if not indexed:
                with connection.cursor() as cursor:
                    cursor.execute("DROP INDEX " + ", ".join(INDEXES))
            for kind, term in searches:
                results[(kind, label)] = changelist_seconds(model_admin, request, term, stock=stock, repeat=args.repeat)
            transaction.set_rollback(True)

    print(f"\nmember changelist search, median of {args.repeat} (search + count + first page), ms; matches")
    header = "".join(f"{label:>16}" for label, *_ in settings_)
    print(f"  {'search':<24}{'term':<22}{header}")
    for kind, term in searches:
        cells = "".join(
            f"{results[(kind, label)][0] * 1000:>11.1f} {results[(kind, label)][1]:>4}" for label, *_ in settings_
        )
        print(f"  {kind:<24}{term:<22}{cells}")
    lookup = get_user_model().objects.filter(email__iexact=target.user.email.upper()).values("pk").explain()
    print(f"\nemail → login (search and sign-in): {lookup.splitlines()[0].split('  (')[0]}")
    print("\nplan scan nodes (first page query)")
    for kind, _ in searches:
        for label in ("stock, no idx", "ours, idx"):
            print(f"  {kind:<24}{label:<15}{results[(kind, label)][2]}")


if __name__ == "__main__":
    main()
