"""``{% fragment %}``: a static piece of a page rendered once per process and reused.

    {% load ssr_fragments %}
    {% fragment step %}<ol class="steps">… {% translate "Product" %} …</ol>{% endfragment %}

The block is rendered the first time it is met for a given key and its HTML kept on the
template node; later renders return that string. The key is the active language, the script
prefix (for ``{% url %}`` inside), autoescaping, and the values of the variables named after
``fragment``: **the block may use no other variable** — nothing of the member, the cart, the
request or the form, and no ``{% csrf_token %}``. A fragment that reads anything else shows one
member's data to the next. Use it for labels, static lists and constant links, where rendering
the ``{% translate %}`` and ``{% url %}`` nodes costs more than the page's data
(docs/performance.md, "The wizard's static fragments").

The copy lives on the parsed template (the cached loader keeps it for the process's life; a
template parsed again starts empty), at most ``FRAGMENT_KEYS`` keys per block.
"""

from __future__ import annotations

from django import template
from django.template.base import Node, NodeList, TemplateSyntaxError
from django.template.defaulttags import CsrfTokenNode
from django.urls import get_script_prefix
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

FRAGMENT_KEYS = 32


class FragmentNode(Node):
    def __init__(self, nodelist: NodeList, vary: list):
        self.nodelist = nodelist
        self.vary = vary
        self.rendered: dict[tuple, SafeString] = {}

    def render(self, context) -> SafeString:
        key = (
            get_language(),
            get_script_prefix(),
            context.autoescape,
            *(variable.resolve(context) for variable in self.vary),
        )
        html = self.rendered.get(key)
        if html is None:
            html = self.nodelist.render(context)  # a SafeString
            if len(self.rendered) < FRAGMENT_KEYS:
                self.rendered[key] = html
        return html


@register.tag("fragment")
def fragment(parser, token) -> FragmentNode:
    vary = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(CsrfTokenNode):
        raise TemplateSyntaxError("{% csrf_token %} differs per session: keep it out of {% fragment %}")
    return FragmentNode(nodelist, vary)
