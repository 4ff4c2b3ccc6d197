"""The minutes' quicker Jinja environment renders what Jinja's own renders: a dict's keys and
its methods, macros with and without ``caller``, functions that ask for the context, a
callable that stops an iteration, missing keys under StrictUndefined."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, pass_context, pass_environment
from jinja2.exceptions import UndefinedError

from meetbot.minutes.fast_jinja import QuickEnvironment

TEMPLATES = {
    "page.j2": """
{%- macro line(entry, last=false) -%}
[{{ entry.body }}{% if caller is defined %}|{{ caller() }}{% endif %}{{ '.' if last }}]
{%- endmacro -%}
{% for entry in data.log %}{{ line(entry, loop.last) }}{% endfor %}
{% call line(data.log[0]) %}inside {{ shout(data.title) }}{% endcall %}
{{ data.items is callable }} {{ data['items'] }} {{ data.keys() | list | length }}
{{ who() }} {{ env_name() }} {{ stopper() is defined }} {{ data.get('title') }}
{% set ns = namespace(n=0) %}{% for _ in range(3) %}{% set ns.n = ns.n + 1 %}{% endfor %}
{{- ns.n }} {{ "<b>" }} {{ data.title | upper }}
""",
    "missing.j2": "{{ data.nothing }}",
}


@pass_context
def who(context: Any) -> str:
    return f"context of {context['data']['title']}"


@pass_environment
def env_name(environment: Environment) -> str:
    return type(environment).__name__.replace("Quick", "")


def stopper() -> str:
    raise StopIteration


def render(kind: type[Environment], name: str, autoescape: bool) -> str:
    environment = kind(loader=DictLoader(TEMPLATES), undefined=StrictUndefined,
                       autoescape=autoescape)
    data = {"title": "Sahel <meets>", "items": [1, 2], "log": [{"body": "hola"},
                                                              {"body": "<i>salut</i>"}]}
    return environment.get_template(name).render(
        data=data, shout=str.upper, who=who, env_name=env_name, stopper=stopper)


@pytest.mark.parametrize("autoescape", [True, False])
def test_the_quick_environment_renders_what_jinja_renders(autoescape: bool) -> None:
    ours = render(QuickEnvironment, "page.j2", autoescape)
    assert ours == render(Environment, "page.j2", autoescape)
    assert "context of Sahel" in ours and "[hola|inside SAHEL" in ours


def test_a_missing_key_is_still_an_error() -> None:
    for kind in (QuickEnvironment, Environment):
        with pytest.raises(UndefinedError):
            render(kind, "missing.j2", True)
