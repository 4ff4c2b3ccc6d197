"""People named in a text are shown by their display names; the ids stay in the record."""

from __future__ import annotations

from meetbot.core.mentions import names_in, user_ids, with_names

NAMES = {"@sam:localhost": "Sam", "@lucie:example.org:8448": "Lucie"}


def test_ids_become_names_and_the_sentence_keeps_its_punctuation() -> None:
    assert with_names("@sam:localhost will organise it", NAMES) == "Sam will organise it"
    assert with_names("Thanks @sam:localhost.", NAMES) == "Thanks Sam."
    assert with_names("@lucie:example.org:8448: over to you", NAMES) == "Lucie: over to you"
    assert with_names("[S](https://matrix.to/#/@sam:localhost) and me", NAMES) == "Sam and me"


def test_unknown_people_and_ids_inside_links_stay_as_they_are() -> None:
    assert with_names("@bob:example.org hi", NAMES) == "@bob:example.org hi"
    link = "see https://matrix.to/#/@sam:localhost"
    assert with_names(link, NAMES) == link
    assert with_names("mail sam@sam:localhost", NAMES) == "mail sam@sam:localhost"


def test_the_ids_a_text_names_and_the_names_known_for_them() -> None:
    text = "[S](https://matrix.to/#/@sam:localhost), @lucie:example.org:8448 and @bob:x.org"
    assert user_ids(text) == ["@sam:localhost", "@lucie:example.org:8448", "@bob:x.org"]
    assert names_in([text], NAMES) == NAMES
