"""HTTP load test: 50 members walking the exchange wizard against gunicorn + PostgreSQL.

    .venv/bin/python bench/http.py                      # 10,000 members, 50 users, 90 s
    .venv/bin/python bench/http.py --users 50 --duration 120 --workers 4 --threads 2

It (re)creates the database ``ssr_bench6`` on the PostgreSQL server of ``BENCH_PG_URL``
(default postgres://postgres@127.0.0.1:5432), migrates it, bulk-loads the members, starts
gunicorn on a free port of 127.0.0.1 (loopback only), runs Locust headless
(bench/load/locustfile.py) for the given time, stops gunicorn, and prints requests/s,
p50/p95/p99 per page, errors, placed exchanges/s and the ledger check afterwards.
Figures and how to read them: docs/performance.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder would come first on sys.path and this module would
# shadow the standard library's ``http`` package for everything imported after it.
BASE_DIR = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import csv  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

BIN = Path(sys.executable).parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50, help="concurrent Locust users")
    parser.add_argument("--duration", type=int, default=90, help="seconds of load after the spawn")
    parser.add_argument("--hot", type=int, default=5, help="members shared by many users (contention)")
    parser.add_argument("--hot-share", type=float, default=0.5, help="share of users logged in as a hot member")
    parser.add_argument("--think", type=float, default=0, help="mean seconds a user reads each page (0: none)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--pool-max", type=int, default=4, help="connection pool size per worker")
    parser.add_argument("--database", default="ssr_bench6")
    parser.add_argument("--reuse-db", action="store_true", help="keep the loaded database (skip the load)")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "ssr_bench6"), help="CSV folder")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_recreate(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own loopback server
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer in time")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU time of the given processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def gunicorn_pids(master: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [master.pid, *map(int, children)]


def postgres_pids(database: str) -> list[int]:
    """The PostgreSQL backends serving the benchmark's database (gunicorn's pooled connections)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
        return [row[0] for row in cursor.fetchall()]


def locust_run(env: dict, base_url: str, *, users: int, seconds: int, prefix: Path) -> None:
    subprocess.run(  # noqa: S603
        [
            str(BIN / "locust"),
            "-f",
            str(BASE_DIR / "bench" / "load" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--host",
            base_url,
            "--csv",
            str(prefix),
            "--only-summary",
            "--reset-stats",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stats_read(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def failures_read(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def ms(value: str) -> str:
    return "—" if value in ("", "N/A") else f"{float(value):.0f}"


def report_http(rows: list[dict], failures: list[dict]) -> None:
    print("\nper page (ms)                         requests  fails    req/s    p50    p95    p99    max")
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "ALL"
        print(
            f"  {row['Type'][:4]:4} {name[:30]:30} {int(row['Request Count']):9,} {int(row['Failure Count']):6,}"
            f" {float(row['Requests/s']):8.1f} {ms(row['50%']):>6} {ms(row['95%']):>6} {ms(row['99%']):>6}"
            f" {ms(row['Max Response Time']):>6}"
        )
    for failure in failures:
        print(f"  failure: {failure['Method']} {failure['Name']}: {failure['Error'][:120]} × {failure['Occurrences']}")


def report_ledger(run_started, *, cpu: float) -> None:
    """What the run did to the ledger: placed exchanges per second, overspend, violations."""
    from django.db.models import Count, F, Max, Min, Sum

    from exchange.models import Exchange
    from ssr_points.checks import ledger_check
    from ssr_points.models import Entry, Lot, PointAccount

    placed = Exchange.objects.filter(created_at__gte=run_started)
    summary = placed.aggregate(n=Count("id"), first=Min("created_at"), last=Max("created_at"), points=Sum("points"))
    seconds = (summary["last"] - summary["first"]).total_seconds() if summary["n"] > 1 else 0
    print(
        f"\nplaced exchanges: {summary['n']:,} in {seconds:.1f} s → "
        f"{(summary['n'] / seconds if seconds else 0):.1f} placed exchanges/s ({summary['points'] or 0:,} points)"
    )
    if summary["n"]:
        per_exchange = cpu / summary["n"]
        print(
            f"  CPU per placed exchange (its whole walk, app + database): {per_exchange * 1000:.1f} ms → "
            f"one CPU places at most {1 / per_exchange:.0f} exchanges/s"
        )
    members = placed.values("member").distinct().count()
    busiest = placed.values("member").annotate(n=Count("id")).order_by("-n").first()
    print(f"  on {members:,} members; busiest member: {busiest['n'] if busiest else 0} exchanges")
    overspent = PointAccount.objects.filter(balance__lt=0).count() + Lot.objects.filter(remaining__lt=0).count()
    doubled = (
        Entry.objects.filter(kind=Entry.Kind.REDEMPTION)
        .values("member", "idempotency_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    unmatched = placed.exclude(redemption__points=-F("points")).count()
    violations = ledger_check()
    print(f"  overspend (negative balances or lots): {overspent}")
    print(f"  redemptions doubled by one request key: {doubled}; exchanges ≠ their redemption: {unmatched}")
    print(f"  ledger_check violations: {len(violations)}")
    for violation in violations[:10]:
        print(f"    {violation}")


def main() -> None:
    args = parse_args()
    server_url = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    env = {
        **os.environ,
        "DATABASE_URL": f"{server_url}/{args.database}",
        "DATABASE_POOL_MIN": "1",
        "DATABASE_POOL_MAX": str(args.pool_max),
        "DJANGO_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(BASE_DIR),
        # Redis (its own database number) for the cache, as in production; tasks stay eager.
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"),
    }
    os.environ.update(env)
    os.chdir(BASE_DIR)

    if not args.reuse_db:
        print(f"database {args.database}: create, migrate, load {args.members:,} members")
        database_recreate(server_url, args.database)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], check=True, env=env)
    import django

    django.setup()
    from django.utils import timezone

    from bench.load.dataset import dataset_load, member_number, sessions_create

    if not args.reuse_db:
        started = time.monotonic()
        dataset_load(members=args.members, hot=args.hot)
        print(f"  loaded in {time.monotonic() - started:.1f} s")
        subprocess.run(["psql", env["DATABASE_URL"], "-qc", "VACUUM ANALYZE"], check=True)  # noqa: S603,S607

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sessions_file = out / "sessions.json"
    hot_users = round(args.users * args.hot_share)
    sessions_create(
        hot=[member_number(i % args.hot) for i in range(hot_users)] if args.hot else [],
        others=[member_number(i) for i in range(args.hot, args.members)],
        path=sessions_file,
    )

    gunicorn_log = out / "gunicorn.log"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    gunicorn = subprocess.Popen(  # noqa: S603
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--worker-class",
            "gthread" if args.threads > 1 else "sync",
            "--log-level",
            "warning",
        ],
        env=env,
        stderr=gunicorn_log.open("w"),  # refusals (400: not enough points) are logged there
    )
    prefix = out / "wizard"
    try:
        wait_until_up(f"{base_url}/login/", gunicorn)
        print(
            f"\ngunicorn on {base_url}: {args.workers} workers × {args.threads} threads; "
            f"Locust: {args.users} users for {args.duration} s, {args.hot} hot members "
            f"shared by {args.hot_share:.0%} of the users, think time {args.think:g} s"
        )
        locust_env = {
            **env,
            "BENCH_SESSIONS": str(sessions_file),
            "BENCH_THINK": str(args.think),
        }
        # Warm-up (not measured): every worker imports, compiles templates, fills its pool.
        locust_run(locust_env, base_url, users=args.users, seconds=8, prefix=out / "warmup")
        run_started = timezone.now()
        load_before = os.getloadavg()[0]
        app_pids = gunicorn_pids(gunicorn)
        cpu_app = cpu_seconds(app_pids)
        db_before = {pid: cpu_seconds([pid]) for pid in postgres_pids(args.database)}
        wall = time.monotonic()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        locust_run(locust_env, base_url, users=args.users, seconds=args.duration, prefix=prefix)
        wall = time.monotonic() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_locust = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
        cpu_app = cpu_seconds(app_pids) - cpu_app
        cpu_db = sum(cpu_seconds([pid]) - db_before.get(pid, 0) for pid in postgres_pids(args.database))
        load_after = os.getloadavg()[0]
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)

    rows = stats_read(prefix)
    report_http(rows, failures_read(prefix))
    requests = sum(int(row["Request Count"]) for row in rows if row["Name"] == "Aggregated") or 1
    print(
        f"\nCPU: gunicorn {cpu_app:.1f} s, PostgreSQL backends {cpu_db:.1f} s in {wall:.0f} s of wall time "
        f"(machine has {os.cpu_count()} CPUs) → {cpu_app / requests * 1000:.1f} ms app + "
        f"{cpu_db / requests * 1000:.1f} ms database CPU per request"
    )
    print(f"Locust (the load generator, same machine) used {cpu_locust:.1f} s of CPU")
    print(
        f"load average (1 min) before {load_before:.1f}, after {load_after:.1f}: "
        "anything above the benchmark's own share is other work on this machine"
    )
    report_ledger(run_started, cpu=cpu_app + cpu_db)


if __name__ == "__main__":
    main()
