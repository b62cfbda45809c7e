"""``{% exchange_cx %}``: the Customer Experience block (contact, the member's requests, the way
to the exchange page where they pick rewards for a request, and a message-only request form)
for members who pay by bank transfer or direct debit, on any member page.

A template tag, so that pages of the apps below (the subscription page) can show it without
importing the exchange app (docs/apps.md).
"""

from django import template

from exchange.forms import ExchangeRequestForm
from exchange.selectors import exchange_requests_recent

register = template.Library()


@register.inclusion_tag("exchange/_cx.html", takes_context=True)
def exchange_cx(context):
    member = context["member"]
    return {
        "member": member,
        "market": context.get("market") or member.market,
        "request_form": context.get("request_form") or ExchangeRequestForm(),
        "exchange_requests": context.get("exchange_requests") or exchange_requests_recent(member=member),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
