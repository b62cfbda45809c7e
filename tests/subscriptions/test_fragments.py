"""``{% fragment %}`` (subscriptions/templatetags/ssr_fragments.py): a static piece of a page
rendered once per process, per language and per the values it names."""

import pytest
from django.template import Context, Engine, TemplateSyntaxError
from django.urls import set_script_prefix
from django.utils import translation

ENGINE = Engine(
    libraries={"i18n": "django.templatetags.i18n", "ssr_fragments": "subscriptions.templatetags.ssr_fragments"}
)

STEPS = (
    "{% load i18n ssr_fragments %}{% fragment step %}"
    '<li{% if step == 1 %} aria-current="step"{% endif %}>{% translate "Product" %}</li>'
    "{% endfragment %}"
)


def test_a_fragment_is_rendered_per_language():
    template = ENGINE.from_string(STEPS)
    with translation.override("ja"):
        japanese = template.render(Context({"step": 1}))
    with translation.override("en"):
        english = template.render(Context({"step": 1}))
    with translation.override("ja"):
        again = template.render(Context({"step": 1}))
    assert japanese == '<li aria-current="step">製品</li>' == again
    assert english == '<li aria-current="step">Product</li>'


def test_a_fragment_is_rendered_per_value_it_names():
    template = ENGINE.from_string(STEPS)
    with translation.override("en"):
        assert template.render(Context({"step": 1})) == '<li aria-current="step">Product</li>'
        assert template.render(Context({"step": 2})) == "<li>Product</li>"
        assert template.render(Context({"step": 1})) == '<li aria-current="step">Product</li>'


def test_a_fragment_keeps_the_first_rendering_for_its_key():
    """What the block reads beyond its named values is not part of the key: the rule the
    docstring states, shown here so that nobody puts a member's data in one."""
    template = ENGINE.from_string("{% load ssr_fragments %}{% fragment %}{{ name }}{% endfragment %}")
    with translation.override("en"):
        assert template.render(Context({"name": "Aiko"})) == "Aiko"
        assert template.render(Context({"name": "Ben"})) == "Aiko"


def test_a_fragment_is_rendered_per_script_prefix():
    template = ENGINE.from_string("{% load ssr_fragments %}{% fragment %}{{ 1 }}{% endfragment %}")
    set_script_prefix("/a/")
    try:
        template.render(Context())
        set_script_prefix("/b/")
        template.render(Context())
        assert len(template.nodelist[1].rendered) == 2
    finally:
        set_script_prefix("/")


def test_a_fragment_refuses_the_csrf_token():
    with pytest.raises(TemplateSyntaxError, match="csrf_token"):
        ENGINE.from_string("{% load ssr_fragments %}{% fragment %}{% csrf_token %}{% endfragment %}")
