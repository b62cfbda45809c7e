"""Locust users for bench/http.py: members walking the exchange wizard and placing exchanges.

Each user is signed in (a session made by bench/http.py) and, with no think time unless
BENCH_THINK is set, walks:
catalogue → product → quantity 「セーブ」 → bundle 「続行」 → confirmation → agree and
「変更を保存」 → done. A share of the users are signed in as a few "hot" members, so
several sessions place exchanges on the same member at once (the account row lock, and the
overspend check when those members run out). A member without points left is swapped for
another one (a new session). Configured from the environment by bench/http.py.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

from locust import FastHttpUser, events, task
from requests.cookies import create_cookie

from bench.load.wizard import CSRF, FINGERPRINT, KEY, PRODUCT, field

SESSIONS = json.loads(Path(os.environ["BENCH_SESSIONS"]).read_text())
HOT_SESSIONS = SESSIONS["hot"]
OTHER_SESSIONS = iter(SESSIONS["others"])


THINK = float(os.environ.get("BENCH_THINK", "0"))  # mean seconds a member reads each page

_user_number = iter(range(1_000_000))


class Member(FastHttpUser):
    def on_start(self):
        self.index = next(_user_number)
        self.products: list[str] = []
        self.sign_in(HOT_SESSIONS[self.index] if self.index < len(HOT_SESSIONS) else next(OTHER_SESSIONS))

    def sign_in(self, session_key: str):
        """Use a session signed in by bench/http.py (see ``sessions_create``)."""
        self.client.cookiejar.clear()
        self.client.cookiejar.set_cookie(create_cookie("sessionid", session_key, domain="127.0.0.1", path="/"))

    def think(self):
        """A member reading the page before the next tap (0: none, the machine's capacity)."""
        if THINK:
            time.sleep(random.uniform(THINK / 2, THINK * 1.5))  # gevent-patched: yields

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
        self.think()
        product = random.choice(self.products[:3])
        path = f"/exchange/products/{product}/"
        page = self.client.get(path, name="2 quantity GET")
        self.think()
        with self.post(path, {"quantity": random.randint(1, 2), "action": "save"}, "2 quantity POST", page.text) as r:
            if r.status_code == 400:  # our input is valid: the only refusal left is "not enough points"
                r.success()
                return self.out_of_points()
            if r.status_code != 302:
                return r.failure(f"quantity: {r.status_code}")
        self.client.get("/exchange/bundle/", name="3 bundle")
        self.think()
        page = self.client.get("/exchange/confirm/", name="4 confirm GET")
        self.think()
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
        self.think()

    def out_of_points(self):
        """This member has spent their points (hot members do, mid-run): carry on as another one."""
        events.request.fire(
            request_type="INFO", name="member out of points", response_time=0, response_length=0, exception=None
        )
        self.sign_in(next(OTHER_SESSIONS))
