"""Entity values: learned spans resolved and spotted."""

from __future__ import annotations


def test_value_lexicon_spots_learned_phrases_only_when_clear():
    from bot.nlu.values import ValueLexicon

    lexicon = ValueLexicon()
    for _ in range(3):
        lexicon.learn("support_form", "på plats", "in_person")
        lexicon.learn("support_form", "in person", "in_person")
    lexicon.learn("support_form", "video", "video")  # seen once: not trusted for spotting
    assert lexicon.spot("support_form", "helst på plats tack") == [(6, 14, "in_person")]
    assert lexicon.spot("support_form", "In person please") == [(0, 9, "in_person")]
    assert lexicon.spot("support_form", "video") == []
    assert lexicon.resolve("support_form", "på platsen") == "in_person"  # by the start of the words
