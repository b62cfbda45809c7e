"""Two blocks the wizard's pages repeat, written in Python: the tax by rate of an exchange's
figures (``{% tax_lines %}``) and when its rewards ship (``{% next_shipment %}``).

They were includes (``_tax_lines.html``, ``_next_shipment.html``): an include looks its template
up and pushes a context each time, and the two cost the confirmation more than anything else in
its template but the lines (docs/performance.md). The messages are the templates' were, so the
catalogue is unchanged; values are escaped as the template escaped them.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from subscriptions.markup import escaped, interpolated
from subscriptions.templatetags.ssr_format import long_date, yen

register = template.Library()

_TAX_LINE = (
    '\n  <tr class="sub"><th scope="row">{rate} <span class="meta">{amount}</span></th>'
    '<td class="num" data-figure="tax-{rate_figure}">{tax}</td></tr>\n'
)


@register.simple_tag
def tax_lines(lines) -> SafeString:
    """A row per tax rate (the qualified invoice's breakdown): 「うち8%対象 （¥3,434 税込） ¥254」."""
    rows = [
        _TAX_LINE.format(
            rate=interpolated(gettext("of which %(rate)s%% rate"), rate=line.rate),
            amount=interpolated(gettext("(%(amount)s incl. tax)"), amount=yen(line.amount_incl_tax)),
            rate_figure=escaped(line.rate),
            tax=escaped(yen(line.tax)),
        )
        for line in lines
    ]
    return mark_safe("".join(rows))  # noqa: S308 - every value escaped above


@register.simple_tag
def next_shipment(shipment_date, cancel_day) -> SafeString:
    """The subscription order the rewards ship with and the last day the exchange can be cancelled;
    nothing for rewards that ship now."""
    if not shipment_date:
        return mark_safe("")
    cancel = help_text = ""
    if cancel_day:
        label = gettext("You can cancel until")  # not inside an f-string: makemessages reads it here
        cancel = f'<div><dt>{label}</dt><dd data-figure="cancel-until">{escaped(long_date(cancel_day))}</dd></div>'
        until = gettext(
            "Until then you can cancel the exchange in My exchanges and the points go back. After that it is "
            "packed with your subscription order."
        )
        help_text = f'<p class="help">{until}</p>'
    title, ships_with = gettext("When it ships"), gettext("Ships with your subscription order of")
    day = escaped(long_date(shipment_date))
    html = f"""
<section class="card next-shipment" aria-labelledby="next-shipment-title">
  <h2 id="next-shipment-title">{title}</h2>
  <dl class="facts">
    <div><dt>{ships_with}</dt><dd data-figure="next-shipment">{day}</dd></div>
    {cancel}
  </dl>
  {help_text}
</section>
"""
    return mark_safe(html)  # noqa: S308 - the dates escaped, the messages are the catalogue's markup
