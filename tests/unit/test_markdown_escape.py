"""User text in Markdown: escaped only where Markdown would misread it, never able to inject.

The property: whatever a person types, the escaped text renders (with the ``markdown``
library the bot renders its notices with) to exactly that text and no markup — and text
without Markdown's special characters is left alone, so the ``.md`` minutes read cleanly.
"""

from __future__ import annotations

import html
import re

import markdown
from hypothesis import given, settings
from hypothesis import strategies as st

from meetbot.i18n import _md_escape_line, _md_line, md_escape

PIECES = st.sampled_from([
    *"ab1 _*`[]()<>&#-+.!|~{}\\=:/;'\"", "http://x.y", "&copy;", "&#60;", "<b>", "\n", "1. ",
    "- ", "> ", "# ", "<a@b.c>", "    ", "**", "__", "![x](y)", "[x]: http://y", "===", "---",
    "<!-- c -->", "`code`", "\\*", "é", "ñ", "→",
])


def rendered_text(source: str, *, in_list: bool = False) -> tuple[str, str]:
    """(the HTML, its text) for Markdown ``source``, alone or as a list item's text."""
    if in_list:
        out = markdown.markdown("- **X** " + source.replace("\n", "  \n  "))
        inner = re.sub(r"^<ul>\s*<li><strong>X</strong> ?|</li>\s*</ul>$", "", out.strip())
    else:
        out = markdown.markdown(source, extensions=["sane_lists", "nl2br"])
        inner = re.sub(r"^<p>|</p>$", "", out.strip())
    return inner, html.unescape(re.sub(r"<br />", "", inner))


def typed(text: str) -> str:
    """Lines as the minutes keep them (stripped, blank ones dropped)."""
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


@settings(max_examples=400)
@given(st.lists(PIECES, max_size=14).map("".join), st.booleans())
def test_escaped_text_renders_as_itself_and_nothing_else(raw: str, in_list: bool) -> None:
    text = typed(raw)
    if not text:
        return
    inner, shown = rendered_text(md_escape(text), in_list=in_list)
    assert not re.search(r"<(?!br />)", inner), (text, md_escape(text), inner)
    assert shown.split() == text.split(), (text, md_escape(text), inner)


def test_ordinary_text_is_left_as_typed() -> None:
    for text in ("Maya (facilitator)", "!startmeeting Demo regional meeting",
                 "9e02cfbc-8ba3-53e6-acf0-d2ef1f1c1a7f", "2 * 3 = 6", "snake_case_name",
                 "R&D, 3.5 hours, 50% — ok!", "https://example.org/a?b=c", "C:\\Users\\ana",
                 "Question 1/3 : que pouvons-nous faire ?", "¿Qué podemos hacer?"):
        assert md_escape(text) == text


def test_what_markdown_would_misread_is_escaped() -> None:
    assert md_escape("*bold* and _em_") == "\\*bold\\* and \\_em\\_"
    assert md_escape("[click](javascript:alert(1))") == "\\[click\\](javascript:alert(1))"
    assert md_escape("<script>x</script>") == "&lt;script>x&lt;/script>"
    assert md_escape("&copy; & co") == "&amp;copy; & co"
    assert md_escape("# not a heading") == "\\# not a heading"
    assert md_escape("1. not a list") == "1\\. not a list"
    assert md_escape("- not a list") == "\\- not a list"
    assert md_escape("> not a quote") == "\\> not a quote"
    assert md_escape("a `span`") == "a \\`span\\`"
    assert md_escape("ends with a backslash\\") == "ends with a backslash\\\\"


def test_hostile_text_injects_no_html_and_no_link() -> None:
    for text in ("<img src=x onerror=alert(1)>", "[x](https://evil.example)",
                 "<https://evil.example>", "<evil@example.org>", "![x](https://evil/x.png)",
                 "[x][1]\n[1]: https://evil.example", "<!-- hidden -->"):
        out = markdown.markdown(md_escape(text))
        assert "<a" not in out and "<img" not in out and "<!--" not in out, (text, out)


QUIET_PIECES = st.one_of(PIECES, st.sampled_from(["\u00a0", "\u2003", "\t", "2026 ", "Sam"]),
                         st.text(max_size=3))


@settings(max_examples=800, deadline=None)
@given(st.lists(QUIET_PIECES, max_size=8).map("".join))
def test_a_quiet_line_is_told_apart_without_changing_what_escaping_gives(line: str) -> None:
    """The quick path for a line with nothing to escape gives what the whole escaping gives."""
    line = line.replace("\n", " ")
    assert _md_line(line) == _md_escape_line(line)
