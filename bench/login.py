"""CPU per login: PBKDF2-SHA256 against Argon2id, back to back in one process.

    .venv/bin/python -m bench.login [--logins 30] [--database ssr_bench_login]

Recreates the database, migrates it and bulk-loads members; then, for each hasher, gives
every member a password hash of that hasher and signs them in one after another with full
login POSTs through Django's request handling (the project's whole middleware, django-axes
and its access log included, sessions in the database as in production): each member
once, a fresh client each time. Prints the CPU per login (this process, and the PostgreSQL
backend), logins/s per CPU, the memory one hash needs, and Argon2id's CPU per login as a
fraction of PBKDF2's (target ≤ 1/8). Rows:

- ``PBKDF2`` — the old ``PASSWORD_HASHERS`` (PBKDF2-SHA256 first, Django 6.1's iterations);
- ``Argon2id`` — the project's (``config.passwords.Argon2idPasswordHasher``: m = 19 MiB, t = 2, p = 1);
- ``PBKDF2 → Argon2id`` — the project's, with PBKDF2 hashes: each member's first login after
  the switch (verify PBKDF2, hash Argon2id, save the hash), once per member;
- ``Argon2 (Django defaults)`` — m = 100 MiB, t = 2, p = 8: why the parameters matter.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.database import ROOT as BASE_DIR
from bench.database import database_recreate, django_setup

PASSWORD = "bench-login-2026"
FIRST_NUMBER = 200_001  # bench.database.members_build numbers its members from here
PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
DJANGO_ARGON2 = "django.contrib.auth.hashers.Argon2PasswordHasher"


def hash_memory(hasher_path: str) -> int:
    """Bytes one hash of ``hasher_path`` needs, measured in a fresh process: freed memory a
    process keeps would hide the second measurement in this one."""
    code = (
        "import sys; from django.utils.module_loading import import_string; from bench.login import peak_memory_of; "
        "hasher = import_string(sys.argv[1])(); print(peak_memory_of(lambda: hasher.encode('x', hasher.salt())))"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, hasher_path], capture_output=True, text=True, check=True, cwd=BASE_DIR
    )
    return int(done.stdout.split()[-1])


def peak_memory_of(function) -> int:
    """Bytes the process's resident set grew to, at its peak, while ``function`` ran (Linux).

    Writing 5 to /proc/self/clear_refs resets the peak (VmHWM) to the current size; Argon2's
    memory is allocated in C, out of sight of tracemalloc, and freed again when it returns.
    """

    def status(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(field)

    Path("/proc/self/clear_refs").write_text("5")
    before = status("VmRSS")
    function()
    return max(0, status("VmHWM") - before)


def stored_as(encoded: str) -> str:
    """The algorithm and its parameters of a stored hash, without salt or hash."""
    parts = encoded.split("$")
    return f"{parts[1]} {parts[3]}" if parts[0] == "argon2" else f"{parts[0]} {parts[1]} iterations"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=30, help="logins per hasher")
    parser.add_argument("--database", default="ssr_bench_login", help="recreated")
    args = parser.parse_args()

    os.environ.update({"DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING", "CELERY_TASK_ALWAYS_EAGER": "1"})
    if os.environ.get("BENCH_REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    else:
        os.environ.pop("REDIS_URL", None)  # sessions in the database
    database_recreate(args.database)
    django_setup(args.database)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings

    from bench.database import members_build
    from bench.http import cpu_seconds

    project_hashers = list(settings.PASSWORD_HASHERS)
    rows = [
        ("PBKDF2", [PBKDF2], [PBKDF2, *project_hashers]),
        ("Argon2id", project_hashers, project_hashers),
        ("PBKDF2 → Argon2id", [PBKDF2], project_hashers),
        ("Argon2 (Django defaults)", [DJANGO_ARGON2], [DJANGO_ARGON2, PBKDF2]),
    ]
    members_per_row = args.logins + 2  # two warm-up logins
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        members_build(cursor, members=members_per_row * len(rows))
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    User = get_user_model()
    print(f"{args.logins} logins per hasher, sessions in {'Redis' if settings.CACHES else 'the database'}")
    print(f"  {'':26} {'app ms':>8} {'db ms':>7} {'logins/s/CPU':>13} {'memory/hash':>12}  hash")
    results = {}
    for index, (label, hashed_with, hashers) in enumerate(rows):
        numbers = [str(FIRST_NUMBER + index * members_per_row + i) for i in range(members_per_row)]
        with override_settings(PASSWORD_HASHERS=hashed_with):
            encoded = make_password(PASSWORD)
        memory = hash_memory(hashers[0])  # the hasher a login (re-)hashes with
        User.objects.filter(username__in=numbers).update(password=encoded)
        with override_settings(PASSWORD_HASHERS=hashers):

            def login(i: int, number: str, label: str = label) -> None:
                client = Client(HTTP_HOST="127.0.0.1")
                data = {"username": number, "password": PASSWORD}
                response = client.post("/login/", data, REMOTE_ADDR=f"198.51.100.{i % 250 + 1}")
                if response.status_code != 302 or "_auth_user_id" not in client.session:
                    raise SystemExit(f"{label}: member {number} was not signed in ({response.status_code})")

            for i, number in enumerate(numbers[:2]):  # warm-up: templates, statements, connections
                login(i, number)
            app_before, database_before = time.process_time(), cpu_seconds([backend])
            for i, number in enumerate(numbers[2:]):
                login(i, number)
            app = time.process_time() - app_before
            database = cpu_seconds([backend]) - database_before
            final = User.objects.get(username=numbers[-1]).password
        per_login = (app + database) / args.logins
        results[label] = per_login
        print(
            f"  {label:26} {app / args.logins * 1000:8.1f} {database / args.logins * 1000:7.1f} "
            f"{1 / per_login:13.1f} {memory / 2**20:9.1f} MiB  {stored_as(final)}"
        )
    ratio = results["Argon2id"] / results["PBKDF2"]
    verdict = "met" if ratio <= 1 / 8 else "missed"
    print(f"\n  Argon2id / PBKDF2 CPU per login: {ratio:.3f} = 1/{1 / ratio:.1f} (target ≤ 1/8: {verdict})")
    pbkdf2, argon2id = 100 * results["PBKDF2"], 100 * results["Argon2id"]
    print(f"  100 logins/s need {pbkdf2:.1f} CPUs of this host with PBKDF2, {argon2id:.1f} with Argon2id")
    connection.close()


if __name__ == "__main__":
    main()
