"""Django's own floor for a member page, for bench/pages.py: the project's URLs plus two views.

- F0: ``HttpResponse`` after reading ``request.user`` (the session and the user's query);
- F1: a signed-in member's page that renders ``base.html`` with one paragraph.

Both go through the project's whole middleware; only the view differs from a real page. Used
as ``ROOT_URLCONF`` by the benchmark alone.
"""

from __future__ import annotations

from functools import cache

from django.http import HttpResponse
from django.template import engines
from django.urls import include, path

from subscriptions.access import member_required


def floor_f0(request):
    return HttpResponse(f"user {request.user.pk}")


@cache
def floor_template():
    source = '{% extends "base.html" %}{% block content %}<p>{{ member.name }}</p>{% endblock %}'
    return engines["django"].from_string(source)


@member_required
def floor_f1(request):
    return HttpResponse(floor_template().render({"member": request.member}, request))


urlpatterns = [
    path("bench/f0/", floor_f0),
    path("bench/f1/", floor_f1),
    path("", include("config.urls")),
]
