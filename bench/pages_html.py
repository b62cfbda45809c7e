"""Every member page's HTML, in Japanese and English, written to a folder: run it before and
after a change that should not change what members see, then ``diff -r`` the two folders.

    .venv/bin/python -m bench.pages_html /tmp/before --database /tmp/pages.sqlite3 --seed
    .venv/bin/python -m bench.pages_html /tmp/after --database /tmp/pages.sqlite3

``--seed`` (re)creates the SQLite database with the demo data (``seed_demo``); without it the
database is copied as it is (and migrated), so two runs start from the same rows. Each run
works on a copy: the walk places and cancels an exchange. What changes from run to run anyway
(CSRF tokens, idempotency keys, fingerprints, exchange numbers, the placing's time) is replaced
by a fixed mark before the page is written.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

VARYING = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'), 'name="csrfmiddlewaretoken" value="CSRF"'),
    (re.compile(r'name="idempotency_key" value="[^"]+"'), 'name="idempotency_key" value="KEY"'),
    (re.compile(r'name="fingerprint" value="[^"]+"'), 'name="fingerprint" value="FINGERPRINT"'),
    (re.compile(r"EX-[A-Z0-9]{8}"), "EX-NUMBER"),
    (re.compile(r'nonce="[^"]+"'), 'nonce="NONCE"'),
    (re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?![\d:])"), "HH:MM"),  # the placing's and cancelling's time of day
]


def normalised(html: str) -> str:
    for pattern, mark in VARYING:
        html = pattern.sub(mark, html)
    return html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--database", type=Path, default=Path(tempfile.gettempdir()) / "ssr-pages.sqlite3")
    parser.add_argument("--seed", action="store_true")
    args = parser.parse_args()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SECRET_KEY": "pages-html-" + "x1y2z3" * 10,
        "ORDER_EVENTS_SECRET": "pages-html-" + "q7w8e9" * 6,
    }
    env.pop("REDIS_URL", None)
    if args.seed:
        args.database.unlink(missing_ok=True)
        seed_env = {**env, "DATABASE_URL": f"sqlite:///{args.database}"}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], check=True, cwd=BASE_DIR, env=seed_env
        )
        subprocess.run([sys.executable, "manage.py", "seed_demo"], check=True, cwd=BASE_DIR, env=seed_env)
    work = Path(tempfile.mkdtemp()) / "pages.sqlite3"
    shutil.copy(args.database, work)
    env["DATABASE_URL"] = f"sqlite:///{work}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], check=True, cwd=BASE_DIR, env=env)
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))

    import django

    django.setup()
    from django.conf import settings
    from django.core import mail
    from django.test import Client
    from django.urls import reverse

    from subscriptions.models import Member, Product

    settings.ALLOWED_HOSTS = ["*"]
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    args.out.mkdir(parents=True, exist_ok=True)
    backend = "subscriptions.backends.MemberNumberOrEmailBackend"

    def write(name: str, response) -> None:
        body = response.content.decode()
        (args.out / f"{name}.html").write_text(f"{response.status_code}\n{normalised(body)}")

    for language in ("ja", "en"):
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        write(f"{language}-login", client.get(reverse("login")))
        member = Member.objects.get(member_number="100001")
        client.force_login(member.user, backend=backend)
        reward = Product.objects.filter(market=member.market, point_cost__isnull=False).order_by("point_cost").first()
        pages = [
            ("home", reverse("home")),
            ("home-earned", reverse("home") + "?show=earned"),
            ("home-used", reverse("home") + "?show=used"),
            ("home-expired", reverse("home") + "?show=expired"),
            ("home-page-2", reverse("home") + "?page=2"),
            ("program", reverse("program")),
            ("subscription", reverse("subscription")),
            ("catalogue", reverse("exchange:catalogue")),
            ("catalogue-apply-now", reverse("exchange:catalogue") + "?ship_now=1"),
            ("quantity", reverse("exchange:quantity", args=[reward.pk])),
            ("history", reverse("exchange:list")),
            ("missing-exchange", reverse("exchange:detail", args=["EX-NOPE0000"])),
        ]
        for name, url in pages:
            write(f"{language}-{name}", client.get(url))
        write(
            f"{language}-quantity-saved",
            client.post(reverse("exchange:quantity", args=[reward.pk]), {"quantity": 2, "action": "save"}, follow=True),
        )
        write(f"{language}-bundle", client.get(reverse("exchange:bundle")))
        confirm = client.get(reverse("exchange:confirm"))
        write(f"{language}-confirm", confirm)
        body = confirm.content.decode()
        fields = dict(re.findall(r'name="(idempotency_key|fingerprint)" value="([^"]+)"', body))
        write(f"{language}-confirm-no-consent", client.post(reverse("exchange:confirm"), fields))
        done = client.post(reverse("exchange:confirm"), {**fields, "agree": "on"}, follow=True)
        write(f"{language}-done", done)
        number = re.search(r"EX-[A-Z0-9]{8}", done.content.decode()).group(0)
        write(f"{language}-confirm-after-done", client.get(reverse("exchange:confirm")))
        write(f"{language}-detail", client.get(reverse("exchange:detail", args=[number])))
        write(f"{language}-cancel", client.get(reverse("exchange:cancel", args=[number])))
        write(f"{language}-home-after", client.get(reverse("home")))
        bank = Member.objects.get(member_number="100002")
        client.force_login(bank.user, backend=backend)
        write(f"{language}-bank-catalogue", client.get(reverse("exchange:catalogue")))
        write(f"{language}-bank-home", client.get(reverse("home")))
        new = Member.objects.get(member_number="100003")
        client.force_login(new.user, backend=backend)
        write(f"{language}-new-home", client.get(reverse("home")))
        write(f"{language}-new-catalogue", client.get(reverse("exchange:catalogue")))
    for i, message in enumerate(mail.outbox):
        parts = [message.subject, message.body, *(content for content, _type in getattr(message, "alternatives", []))]
        (args.out / f"email-{i}.txt").write_text(normalised("\n----\n".join(parts)))
    print(f"{len(list(args.out.iterdir()))} pages and emails in {args.out}")


if __name__ == "__main__":
    main()
