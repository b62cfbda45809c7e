"""Locust users for bench/http.py: members walking the exchange wizard and placing exchanges.

Each user logs in through the login page (member number + password) and then, without think
time, walks: catalogue → product → quantity 「セーブ」 → bundle 「続行」 → confirmation →
agree and 「変更を保存」 → done. A share of the users log in as a few "hot" members, so
several sessions place exchanges on the same member at once (the account row lock, and the
overspend check when those members run out). A member without points left is swapped for
another one (a new login). Configured from the environment by bench/http.py.
"""

from __future__ import annotations

import os
import random
import re

from locust import FastHttpUser, events, task

FIRST = int(os.environ.get("BENCH_FIRST_MEMBER", "500001"))
COUNT = int(os.environ.get("BENCH_MEMBER_COUNT", "10000"))
HOT = int(os.environ.get("BENCH_HOT", "25"))
HOT_SHARE = float(os.environ.get("BENCH_HOT_SHARE", "0.5"))
PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-pass-2026")

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
FINGERPRINT = re.compile(r'name="fingerprint" value="([^"]+)"')
PRODUCT = re.compile(r'href="/exchange/products/(\d+)/"')

_user_number = iter(range(1_000_000))


def field(pattern: re.Pattern, text: str) -> str:
    match = pattern.search(text)
    return match.group(1) if match else ""


class Member(FastHttpUser):
    def on_start(self):
        self.index = next(_user_number)
        self.products: list[str] = []
        hot_users = round(self.environment.runner.target_user_count * HOT_SHARE) if self.environment.runner else 0
        if HOT and self.index < hot_users:
            self.member = str(FIRST + self.index % HOT)  # two or more sessions on the same member
        else:
            self.member = self.random_member()
        self.login()

    def random_member(self) -> str:
        return str(FIRST + random.randrange(HOT, COUNT))

    def login(self):
        self.client.cookiejar.clear()
        page = self.client.get("/login/", name="login GET")
        with self.client.post(
            "/login/",
            data={"username": self.member, "password": PASSWORD, "csrfmiddlewaretoken": field(CSRF, page.text)},
            headers={"Referer": f"{self.host}/login/"},
            name="login POST",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login refused ({response.status_code})")

    def post(self, path: str, data: dict, name: str, csrf_from: str):
        data = {**data, "csrfmiddlewaretoken": field(CSRF, csrf_from)}
        return self.client.post(
            path,
            data=data,
            headers={"Referer": f"{self.host}{path}"},
            name=name,
            allow_redirects=False,
            catch_response=True,
        )

    @task
    def exchange(self):
        catalogue = self.client.get("/exchange/", name="1 catalogue")
        self.products = PRODUCT.findall(catalogue.text) or self.products
        if not self.products:
            return
        product = random.choice(self.products[:3])
        path = f"/exchange/products/{product}/"
        page = self.client.get(path, name="2 quantity GET")
        with self.post(path, {"quantity": random.randint(1, 2), "action": "save"}, "2 quantity POST", page.text) as r:
            if r.status_code == 400:  # our input is valid: the only refusal left is "not enough points"
                r.success()
                return self.out_of_points()
            if r.status_code != 302:
                return r.failure(f"quantity: {r.status_code}")
        self.client.get("/exchange/bundle/", name="3 bundle")
        page = self.client.get("/exchange/confirm/", name="4 confirm GET")
        data = {"idempotency_key": field(KEY, page.text), "fingerprint": field(FINGERPRINT, page.text), "agree": "on"}
        with self.post("/exchange/confirm/", data, "5 confirm POST (place)", page.text) as r:
            if r.status_code == 302 and "/exchange/done/" in r.headers.get("Location", ""):
                done = r.headers["Location"]
            elif r.status_code in (200, 400):  # refused with a message: points ran out meanwhile
                r.success()
                return self.out_of_points()
            else:
                return r.failure(f"confirm: {r.status_code}")
        self.client.get(done, name="6 done")

    def out_of_points(self):
        """This member has spent their points (hot members do, mid-run): carry on as another one."""
        events.request.fire(
            request_type="INFO", name="member out of points", response_time=0, response_length=0, exception=None
        )
        self.member = self.random_member()
        self.login()
