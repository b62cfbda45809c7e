"""The yardstick: a stock Django page's CPU, in a process of its own.

    .venv/bin/python -m bench.stock_page --requests 2000

A ``startproject`` with its defaults (bench/stock/settings.py: SQLite, database sessions,
``ModelBackend``), a signed-in user, a ``login_required`` page extending a base template, through
Django's full request handling. Prints the milliseconds of CPU per page; bench/pages.py runs it
back to back with its own walks and prints each page as a multiple of it, which carries over
from one host to another better than milliseconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def stock_page_ms(requests: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["BENCH_STOCK_DB"] = str(Path(folder) / "stock.sqlite3")
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.stock.settings"
        sys.path.insert(0, str(BASE_DIR))
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_user("stock", password=None)
        client = Client()
        client.force_login(user)
        for _ in range(50):  # warm: templates, translations, the connection
            assert client.get("/").status_code == 200
        started = time.process_time()
        for _ in range(requests):
            client.get("/")
        return (time.process_time() - started) / requests * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(f"{stock_page_ms(args.requests):.4f}")


if __name__ == "__main__":
    main()
