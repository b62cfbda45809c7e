"""``{% fragment %}``: a static piece of a page rendered once per process and reused.

    {% load ssr_fragments %}
    {% fragment step %}<ol class="steps">… {% translate "Product" %} …</ol>{% endfragment %}

The block is rendered the first time it is met for a given key and its HTML kept on the
template node; later renders return that string. The key is the active language, the script
prefix (for ``{% url %}`` inside), autoescaping, and the values of the variables named after
``fragment``. A fragment that read anything else would show one member's data to the next, so
the tag checks the block when the template is parsed and refuses anything but text,
``{% translate %}`` of a constant, ``{% url %}`` and ``{% static %}`` of constants,
``{{ constant }}``, and ``{% if %}`` whose conditions test only the variables the tag names (a
named value with a filter, ``subscription|yesno``, must keep what those conditions test). No
variable is printed, no ``{% include %}``, ``{% blocktranslate %}``, ``{% for %}`` or
``{% csrf_token %}``. Use it for labels, static lists and constant links, where rendering the
``{% translate %}`` and ``{% url %}`` nodes costs more than the page's data
(docs/performance.md, "The wizard's static fragments").

The copy lives on the parsed template (the cached loader keeps it for the process's life; a
template parsed again starts empty), at most ``FRAGMENT_KEYS`` keys per block.
"""

from __future__ import annotations

from collections.abc import Iterator

from django import template
from django.template.base import FilterExpression, Node, NodeList, TemplateSyntaxError, TextNode, Variable, VariableNode
from django.template.defaulttags import CommentNode, IfNode, LoadNode, URLNode
from django.templatetags.i18n import TranslateNode
from django.templatetags.static import StaticNode
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


def _variables(expression: FilterExpression | None) -> Iterator[str]:
    """The dotted paths of the context variables ``expression`` reads (its value, its filters' arguments)."""
    if expression is None:
        return
    candidates = [expression.var] + [arg for _, args in expression.filters for lookup, arg in args if lookup]
    for candidate in candidates:
        if isinstance(candidate, Variable) and candidate.lookups is not None:
            yield ".".join(candidate.lookups)


def _condition_variables(condition) -> Iterator[str]:
    """The variables an ``{% if %}`` condition (django.template.smartif's tree) tests."""
    if condition is None:
        return
    if hasattr(condition, "value"):  # a literal: TemplateLiteral(FilterExpression)
        yield from _variables(condition.value)
    for side in (getattr(condition, "first", None), getattr(condition, "second", None)):
        if side is not None:
            yield from _condition_variables(side)


# The tags a fragment may hold, each with the expressions it reads: they must be constants.
_CONSTANTS_ONLY = {
    VariableNode: lambda node: [node.filter_expression],
    TranslateNode: lambda node: [node.filter_expression, node.message_context],
    URLNode: lambda node: [node.view_name, *node.args, *node.kwargs.values()],
    StaticNode: lambda node: [node.path],
}


def _refuse_what_varies(nodelist: NodeList, named: set[str]) -> None:
    """Refuse, when the template is parsed, a block that could read more than ``named``."""
    for node in nodelist:
        if isinstance(node, TextNode | LoadNode | CommentNode):
            continue
        if isinstance(node, IfNode):
            for condition, branch in node.conditions_nodelists:
                if unnamed := set(_condition_variables(condition)) - named:
                    raise TemplateSyntaxError(f"{{% fragment %}} tests {sorted(unnamed)}: name them after fragment")
                _refuse_what_varies(branch, named)
            continue
        for kind, parts in _CONSTANTS_ONLY.items():
            if isinstance(node, kind):
                if read := {path for part in parts(node) for path in _variables(part)}:
                    raise TemplateSyntaxError(f"{{% fragment %}} may not print or pass variables: {sorted(read)}")
                break
        else:
            raise TemplateSyntaxError(f"{{% fragment %}} holds text, translations and constants only, not {node!r}")


@register.tag("fragment")
def fragment(parser, token) -> FragmentNode:
    vary = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    _refuse_what_varies(nodelist, {path for expression in vary for path in _variables(expression)})
    return FragmentNode(nodelist, vary)
