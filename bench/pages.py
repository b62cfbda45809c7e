"""CPU per wizard page, in-process: no HTTP server, no load generator, one member at a time.

    .venv/bin/python -m bench.pages --load            # once: (re)creates and loads ssr_bench6, 60 walks
    .venv/bin/python -m bench.pages                   # 60 walks on the loaded database
    .venv/bin/python -m bench.pages --walks 40 --no-prepare

Each walk signs in a different member (a session as a real login makes it) and goes
catalogue → quantity → 「セーブ」 → bundle → confirmation → place → done → home through Django's
full request handling (middleware, sessions in the database, PostgreSQL), printing the CPU each page
cost this process and the CPU the PostgreSQL backend spent per walk.

The yardstick is a stock Django page (bench/stock_page.py: a ``startproject`` with its defaults,
a ``login_required`` page extending a base template), measured in a process of its own right
before and right after the walks; the lower of the two is used. Each page is printed as a
multiple of it, which carries over from one host to another better than milliseconds. Budgets
(docs/performance.md): every wizard page and home ≤ 4 × the stock page, placing ≤ 8 ×, the
8-page walk ≤ 32 ×. On a shared machine take the lowest of a few runs.

Beside it, this project's own floor, measured in the same walks (bench/floor.py): F0 is
``HttpResponse`` after reading ``request.user``, F1 a signed-in member's page rendering
``base.html`` with one paragraph, both through the same middleware and session; "the pages
beyond F1" is the walk less eight F1s, what the pages add to the floor.
Every run adds an exchange to each walked member's history, which home shows: compare runs
that each start right after ``--load`` (a run says when its members carry earlier exchanges).

Tasks go to the Redis broker of ``BENCH_REDIS_URL`` as in production: placing pays for handing
the 受付 email to the broker, a worker renders and sends it. The queued messages are purged
afterwards and the email's CPU is measured on its own (``exchange_email_send`` on the walks'
exchanges) and printed apart from the walk. ``--eager-tasks`` runs the task inside the
request instead (what happens when the broker is unreachable, config/broker.py).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.load import wizard
from bench.load.wizard import CSRF, FINGERPRINT, KEY, PRODUCT

BASE_DIR = Path(__file__).resolve().parent.parent
FLOOR = ("F0", "F1")
PLACING = "5 confirm POST (place)"
BUDGET_WALK, BUDGET_PLACING, BUDGET_PAGE = 32, 8, 4  # × the stock Django page


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--walks", type=int, default=60)
    parser.add_argument("--database", default="ssr_bench6", help="loaded by bench/http.py or --load")
    parser.add_argument("--load", action="store_true", help="recreate the database and load --members members")
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of the measured walks to FILE")
    parser.add_argument(
        "--profile-page", metavar="NAME", help="with --profile: profile only the pages whose name starts with NAME"
    )
    parser.add_argument("--no-prepare", action="store_true", help="client-side binding, no prepared statements")
    parser.add_argument(
        "--eager-tasks", action="store_true", help="run Celery tasks (the placed email) inside the request"
    )
    return parser.parse_args()


def field(pattern: re.Pattern, text: str) -> str:
    """What the load test reads off a page; here a page that lacks it ends the run."""
    value = wizard.field(pattern, text)
    if not value:
        raise SystemExit(f"the page lacks {pattern.pattern!r}")
    return value


def main() -> None:
    args = parse_args()
    server_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    os.environ.update(
        {
            "DATABASE_URL": f"{server_url}/{args.database}",
            "DATABASE_POOL": "0",  # one connection: its backend's CPU is the database's share
            "CONN_MAX_AGE": "600",
            "DATABASE_SERVER_SIDE_BINDING": "0" if args.no_prepare else "1",
            "DATABASE_PREPARE_THRESHOLD": "" if args.no_prepare else "5",
            "DJANGO_DEBUG": "0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CELERY_TASK_ALWAYS_EAGER": "1" if args.eager_tasks else "0",
            "LOG_LEVEL": "WARNING",
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"),
        }
    )
    sys.path.insert(0, str(BASE_DIR))
    stock_before = stock_page()
    if args.load:
        from bench.http import database_recreate

        database_recreate(server_url, args.database)
    # A database loaded by older code gets the new migrations.
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], check=True, cwd=BASE_DIR)
    import django

    django.setup()
    import json

    from django.conf import settings

    settings.ROOT_URLCONF = "bench.floor"  # the project's URLs and the two floor views

    from django.db import connection
    from django.test import Client

    from bench.http import cpu_seconds
    from bench.load.dataset import dataset_load, member_number, sessions_create

    if args.load:
        dataset_load(members=args.members, hot=0, stdout=lambda line: None)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    sessions_file = Path(tempfile.gettempdir()) / "ssr_bench_pages_sessions.json"
    warm = 5
    # Members 1,000+ : away from the hot members and the first ones bench/http.py's users take.
    numbers = [member_number(i) for i in range(1_000, 1_000 + warm + args.walks)]
    sessions_create(hot=[], others=numbers, path=sessions_file, pool=len(numbers))
    sessions = json.loads(sessions_file.read_text())["others"]
    from exchange.models import Exchange

    # Each walk places an exchange, so a member walked again has a longer history and home costs
    # more: figures compare only between runs that start at the same count (0 right after --load).
    earlier = Exchange.objects.filter(member__member_number__in=numbers).count()

    cpu: dict[str, float] = defaultdict(float)

    page_profiler: cProfile.Profile | None = None  # --profile-page: set once the warm-up walks are done

    def timed(name, request):
        profiled = page_profiler is not None and name.startswith(args.profile_page)
        started = time.process_time()
        if profiled:
            page_profiler.enable()
        response = request()
        if profiled:
            page_profiler.disable()
        cpu[name] += time.process_time() - started
        return response

    def walk(session_key: str) -> None:
        client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
        client.cookies["sessionid"] = session_key
        client.get("/bench/f0/")  # untimed: a session older than a minute is saved again here
        timed("F0", lambda: client.get("/bench/f0/"))
        timed("F1", lambda: client.get("/bench/f1/"))
        catalogue = timed("1 catalogue", lambda: client.get("/exchange/"))
        path = f"/exchange/products/{field(PRODUCT, catalogue.content.decode())}/"
        page = timed("2 quantity GET", lambda: client.get(path)).content.decode()
        data = {"quantity": 1, "action": "save", "csrfmiddlewaretoken": field(CSRF, page)}
        saved = timed("2 quantity POST", lambda: client.post(path, data))
        if saved.status_code != 302:
            raise SystemExit(f"「セーブ」 answered {saved.status_code}: is the member out of points?")
        timed("3 bundle", lambda: client.get("/exchange/bundle/"))
        page = timed("4 confirmation GET", lambda: client.get("/exchange/confirm/")).content.decode()
        data = {
            "idempotency_key": field(KEY, page),
            "fingerprint": field(FINGERPRINT, page),
            "agree": "on",
            "csrfmiddlewaretoken": field(CSRF, page),
        }
        placed = timed(PLACING, lambda: client.post("/exchange/confirm/", data))
        if placed.status_code != 302:
            raise SystemExit(f"placing answered {placed.status_code}")
        timed("6 done", lambda: client.get(placed["Location"]))
        timed("7 home", lambda: client.get("/"))

    for session_key in sessions[:warm]:  # templates compiled, statements prepared
        walk(session_key)
    cpu.clear()
    exchanges_before = Exchange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    database_before = cpu_seconds([backend])
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    if profiler and args.profile_page:
        page_profiler = profiler  # timed() turns it on for the pages named
    elif profiler:
        profiler.enable()
    for session_key in sessions[warm:]:
        walk(session_key)
    if profiler:
        if not page_profiler:
            profiler.disable()
        profiler.dump_stats(args.profile)
    database = cpu_seconds([backend]) - database_before
    email_cpu = email_measure(exchanges_before, eager=args.eager_tasks)
    stock_after = stock_page()
    stock = min(stock_before, stock_after) / 1000 * args.walks  # seconds per all walks, as cpu[…]

    print(f"{args.walks} walks, {'client-side binding' if args.no_prepare else 'prepared statements'}")
    if earlier:
        print(
            f"  the walked members already had {earlier / len(numbers):.1f} exchanges each from earlier runs"
            " (0 after --load): home grows with them, compare only runs that start alike"
        )
    f1 = cpu["F1"]
    pages = {name: seconds for name, seconds in cpu.items() if name not in FLOOR}
    print(
        f"  {'stock Django page':24} {stock / args.walks * 1000:6.2f} ms of CPU (bench/stock_page.py; "
        f"{stock_before:.2f} before and {stock_after:.2f} after the walks)"
    )
    for name in FLOOR:
        print(f"  {name:24} {cpu[name] / args.walks * 1000:6.2f} ms of app CPU  {cpu[name] / stock:5.2f} × stock")
    for name in sorted(pages):
        budget = BUDGET_PLACING if name == PLACING else BUDGET_PAGE
        ratio = pages[name] / stock
        print(
            f"  {name:24} {pages[name] / args.walks * 1000:6.2f} ms of app CPU  {ratio:5.2f} × stock"
            f"  {pages[name] / f1:5.2f} × F1  (budget ≤ {budget} × stock: {'met' if ratio <= budget else 'missed'})"
        )
    walk = sum(pages.values())
    print(
        f"  {'walk (8 pages)':24} {walk / args.walks * 1000:6.2f} ms of app CPU  {walk / stock:5.2f} × stock"
        f"  {walk / f1:5.2f} × F1  (budget ≤ {BUDGET_WALK} × stock: "
        f"{'met' if walk / stock <= BUDGET_WALK else 'missed'})"
    )
    own = walk - len(pages) * f1
    print(
        f"  {'the pages beyond F1':24} {own / args.walks * 1000:6.2f} ms of app CPU"
        f"  (the walk less {len(pages)} × F1: what the pages add to the floor)"
    )
    print(f"  {'PostgreSQL backend':24} {database / args.walks * 1000:6.2f} ms of CPU per walk (and F0, F1)")
    if email_cpu is not None:
        print(
            f"  {'placed email (worker)':24} {email_cpu / args.walks * 1000:6.2f} ms of CPU per exchange"
            f"  {email_cpu / f1:5.2f} × F1  (not in the walk: a worker's)"
        )


def stock_page() -> float:
    """Milliseconds of CPU of the stock Django page, measured in a process of its own."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.stock_page", "--requests", "2000"],
        check=True,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"},
    )
    return float(result.stdout.strip())


def email_measure(exchanges_after: int, *, eager: bool) -> float | None:
    """Purge the emails the walks queued and measure what sending them costs a worker, or None
    when the tasks ran inside the requests (``--eager-tasks``: already in placing's figure)."""
    if eager:
        return None
    from django.core import mail
    from django.test import override_settings

    from config.celery import app
    from exchange.emails import exchange_email_send
    from exchange.models import Exchange

    app.control.purge()
    ids = list(Exchange.objects.filter(pk__gt=exchanges_after).order_by("pk").values_list("pk", flat=True))
    locmem = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    with override_settings(MAILERS=locmem):
        mail.outbox = []
        started = time.process_time()
        for exchange_id in ids:
            exchange_email_send(exchange_id=exchange_id, kind="placed")
        return time.process_time() - started


if __name__ == "__main__":
    main()
