"""The project's password hasher: Argon2id at OWASP's parameters (docs/security.md).

Django's own ``Argon2PasswordHasher`` defaults to m = 100 MiB and p = 8 lanes, ~6 times the
CPU of these parameters per login on our 2-CPU hosts; PBKDF2-SHA256 at Django 6.1's 1,500,000
iterations costs ~11 times as much and gives an attacker with GPUs an easier time, because it
needs no memory. ``bench/login.py`` measures the three (docs/performance.md).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id, m = 19 MiB, t = 2, p = 1: OWASP's Password Storage Cheat Sheet's first choice.

    The algorithm name stays ``argon2`` (Django's variant is Argon2id too), so a hash made with
    other parameters — Django's defaults, or weaker ones of an older release — is verified and
    then re-hashed with these at the member's next login (``must_update``), like the PBKDF2
    hashes made before Argon2id was first in ``PASSWORD_HASHERS``.
    """

    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1
