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


@pytest.mark.parametrize(
    "block",
    [
        "{{ name }}",  # a member's data would be kept and shown to the next member
        "{{ 1|add:points }}",
        "{% if name %}x{% endif %}",  # a condition on a value the key does not hold
        "{% if step == 1 %}{{ name }}{% endif %}",
        "{% url 'exchange:detail' number %}",
        "{% translate message %}",
        "{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}",
        "{% for line in lines %}x{% endfor %}",
        "{% include 'base.html' %}",
        "{% csrf_token %}",
    ],
)
def test_a_fragment_that_could_read_more_than_it_names_is_refused_when_parsed(block):
    with pytest.raises(TemplateSyntaxError, match="fragment"):
        ENGINE.from_string(f"{{% load i18n ssr_fragments %}}{{% fragment step %}}{block}{{% endfragment %}}")


def test_a_fragment_tests_the_values_it_names_and_prints_constants():
    template = ENGINE.from_string(
        "{% load i18n ssr_fragments %}{% fragment cart.ship_now refusal|yesno %}"
        "{% if cart.ship_now %}now{% elif not refusal %}{% translate 'Continue' %}{% endif %}{{ 1 }}"
        "{% endfragment %}"
    )
    with translation.override("en"):
        assert template.render(Context({"cart": {"ship_now": True}, "refusal": ""})) == "now1"
        assert template.render(Context({"cart": {"ship_now": False}, "refusal": ""})) == "Continue1"
        assert template.render(Context({"cart": {"ship_now": False}, "refusal": "too few points"})) == "1"


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
