"""make_translator picks the configured back-end; 'none' translates nothing, clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from meetbot.translation.apertium import ApertiumTranslator
from meetbot.translation.argos import ArgosTranslator, default_threads
from meetbot.translation.base import MissingPair
from meetbot.translation.factory import make_translator
from meetbot.translation.libretranslate import LibreTranslateTranslator
from meetbot.translation.none import NoTranslator

OPTIONS = {"models_dir": Path("models"), "libretranslate_url": "http://127.0.0.1:1", "api_key": "k"}


@pytest.mark.parametrize(
    ("backend", "kind"),
    [
        ("argos", ArgosTranslator),
        ("apertium", ApertiumTranslator),
        ("libretranslate", LibreTranslateTranslator),
        ("none", NoTranslator),
    ],
)
def test_backends(backend: str, kind: type) -> None:
    translator = make_translator(backend, **OPTIONS)  # type: ignore[arg-type]
    assert isinstance(translator, kind) and translator.name == backend


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="argos, apertium, libretranslate, none"):
        make_translator("google", **OPTIONS)  # type: ignore[arg-type]


def test_none_backend() -> None:
    with make_translator("none", **OPTIONS) as translator:  # type: ignore[arg-type]
        assert translator.pairs() == set() and translator.can_translate("en", "en")
        assert translator.translate_batch(["same"], "en", "en") == ["same"]
        with pytest.raises(MissingPair, match="switched off"):
            translator.translate_batch(["hello"], "en", "es")


def test_libretranslate_takes_one_url_or_a_pool() -> None:
    one = make_translator("libretranslate", **OPTIONS)  # type: ignore[arg-type]
    assert isinstance(one, LibreTranslateTranslator) and one.urls == ["http://127.0.0.1:1"]
    pool = make_translator(
        "libretranslate", models_dir=Path("models"), api_key=None,
        libretranslate_url=["http://lt1:5000/", "http://lt2:5000"],
    )
    assert isinstance(pool, LibreTranslateTranslator)
    assert pool.urls == ["http://lt1:5000", "http://lt2:5000"] and len(pool.pool) == 2


def test_argos_threads_reach_the_translator() -> None:
    default = make_translator("argos", **OPTIONS)  # type: ignore[arg-type]
    assert isinstance(default, ArgosTranslator) and default.intra_threads == default_threads()
    three = make_translator("argos", **OPTIONS, argos_threads=3)  # type: ignore[arg-type]
    assert isinstance(three, ArgosTranslator) and three.intra_threads == 3
