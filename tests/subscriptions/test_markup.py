"""subscriptions/markup.py escapes exactly as Django's ``format_html`` does, without its lazy check."""

import pytest
from django.utils import html as django_html
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from subscriptions.markup import escaped, format_html, interpolated


@pytest.mark.parametrize(
    "value",
    [
        '<script>alert("x")</script>',
        "Tom & Jerry's",
        "山田 花子",
        mark_safe("<b>already safe</b>"),
        56,
        -1,
        None,
        "",
        gettext_lazy("Valid until %(day)s"),
    ],
)
def test_each_value_is_escaped_as_django_escapes_it(value):
    with translation.override("ja"):
        assert escaped(value) == str(django_html.conditional_escape(value))
        template = '<span class="x" title="{}">{}</span>'
        ours = format_html(template, value, value)
        assert ours == django_html.format_html(template, value, value)
        assert isinstance(ours, SafeString)


def test_a_message_is_interpolated_with_its_values_escaped_and_its_own_markup_kept():
    """What ``{% blocktranslate with … %}`` writes: the catalogue's text as it is, each value escaped."""
    message = "<b>%(name)s</b> × %(quantity)s (100%%)"
    assert interpolated(message, name="<A&B>", quantity=2) == "<b>&lt;A&amp;B&gt;</b> × 2 (100%)"
    assert interpolated(message, name=mark_safe("<i>x</i>"), quantity=1) == "<b><i>x</i></b> × 1 (100%)"
