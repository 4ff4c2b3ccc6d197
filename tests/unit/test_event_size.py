"""A notice or an edit too big for a Matrix event is made to fit before it is sent."""

from __future__ import annotations

import json

from meetbot.matrix.content import edit_content, notice_content
from meetbot.matrix.event_size import CONTENT_LIMIT, CUT_MARK, fit_content, size_of


def test_a_notice_that_fits_is_sent_as_it_is() -> None:
    content = notice_content(["Topic: **budget**"], ["en", "es"])
    assert fit_content(content) is content


def test_a_long_topic_quoted_in_three_languages_loses_its_html_first() -> None:
    content = notice_content(["x" * 12_000], ["en", "es", "fr"])
    assert CONTENT_LIMIT < size_of(content) < 2 * CONTENT_LIMIT
    fitted = fit_content(content)
    assert "formatted_body" not in fitted and "format" not in fitted
    assert fitted["body"] == content["body"]  # the plain text is whole
    assert size_of(fitted) <= CONTENT_LIMIT


def test_a_text_too_long_even_as_plain_text_is_cut_with_a_mark() -> None:
    content = notice_content(["é" * 40_000], ["en", "fr"])  # two bytes a letter
    fitted = fit_content(content)
    assert size_of(fitted) <= CONTENT_LIMIT
    assert fitted["body"].endswith(CUT_MARK)
    assert fitted["body"].startswith("[en]")
    assert fitted["m.mentions"] == content["m.mentions"]


def test_an_edit_cuts_its_fallback_and_its_new_content_alike() -> None:
    edit = edit_content("$original", notice_content(['"quoted"\n' * 8_000], ["en"]))
    fitted = fit_content(edit)
    assert size_of(fitted) <= CONTENT_LIMIT
    assert fitted["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$original"}
    assert fitted["body"].startswith("* ") and fitted["body"].endswith(CUT_MARK)
    assert fitted["m.new_content"]["body"].endswith(CUT_MARK)
    assert "formatted_body" not in fitted["m.new_content"]


def test_hostile_characters_that_json_escapes_still_fit() -> None:
    for char in ('"', "\\", "\n", "\x01", "😀", "\u200b"):
        content = {"msgtype": "m.notice", "body": char * 70_000}
        fitted = fit_content(content)
        assert size_of(fitted) <= CONTENT_LIMIT, char
        assert json.loads(json.dumps(fitted))["body"].endswith(CUT_MARK)


def test_content_too_big_for_another_reason_is_left_for_the_homeserver_to_refuse() -> None:
    content = {"msgtype": "m.notice", "body": "hi", "m.mentions": {"user_ids": ["@a:x"] * 9_000}}
    assert fit_content(content)["m.mentions"] == content["m.mentions"]
