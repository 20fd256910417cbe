"""The municipality extractor over every municipality of the gazetteer (SPEC §4)."""

from __future__ import annotations

import csv

import pytest

from bot.config import DEFAULT_DATA_DIR
from bot.geo import Gazetteer
from bot.nlu.places import MunicipalityMatcher, finnish_forms
from tests.conftest import FIXTURES

FORMS_FILE = FIXTURES / "municipality_forms.csv"
"""Locative, elative, illative and genitive of each name, written by hand (not by our rules)."""


@pytest.fixture(scope="module")
def matcher(gazetteer: Gazetteer) -> MunicipalityMatcher:
    return MunicipalityMatcher.from_files(gazetteer, DEFAULT_DATA_DIR / "geo" / "place_words.yml")


def values(matcher: MunicipalityMatcher, text: str) -> list[str]:
    return [m.value for m in matcher.find(text)]


def test_every_municipality_in_nominative_inflected_and_swedish_forms(matcher, gazetteer):
    with FORMS_FILE.open(encoding="utf-8", newline="") as fh:
        forms = {row["code"]: row for row in csv.DictReader(fh)}
    cases: list[tuple[str, str]] = []
    for m in gazetteer:
        row = forms[m.code]
        cases += [
            (m.name_fi, m.name_fi),  # the name alone, as an answer
            (f"tarvitsisin apua {row['locative']}", m.name_fi),
            (f"olen kotoisin {row['elative']}", m.name_fi),
            (f"muutin {row['illative']} viime vuonna", m.name_fi),
            (f"{row['genitive']} kirjasto", m.name_fi),
            (m.name_fi.lower(), m.name_fi),
        ]
        if m.name_sv != m.name_fi:
            cases.append((f"jag bor i {m.name_sv}", m.name_fi))
    wrong = [
        (text, want, values(matcher, text))
        for text, want in cases
        if values(matcher, text) != [want]
    ]
    share = 1 - len(wrong) / len(cases)
    print(f"\n{len(cases)} forms, {share:.2%} correct; wrong: {wrong[:40]}")
    assert share >= 0.98, wrong


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mist saa apuu rovaniemelä", ["Rovaniemi"]),  # a dropped letter in the ending
        ("helsingisä", ["Helsinki"]),
        ("asun jyvaskylassa", ["Jyväskylä"]),  # no Nordic letters on the keyboard
        ("apua seinajoella", ["Seinäjoki"]),
        ("bor i Vasa och behöver hjälp", ["Vaasa"]),
        ("Helsingfors stadsbibliotek", ["Helsinki"]),
        ("I live in vantaa", ["Vantaa"]),
        ("Helsinki's library", ["Helsinki"]),
        ("Oulussakin on kirjasto", ["Oulu"]),  # with a clitic
        ("asun Kuopiosa", ["Kuopio"]),
        ("pääsisinkö Lieksasta Joensuuhun", ["Lieksa", "Joensuu"]),
        ("rovanimellä", ["Rovaniemi"]),  # a typo inside the stem
        ("S:t Michel", ["Mikkeli"]),
        ("Pedersören kunta", ["Pedersöre"]),
        ("Koski Tl", ["Koski Tl"]),
    ],
)
def test_typos_swedish_and_english_forms(matcher, text, expected):
    assert values(matcher, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "naapuri Kaarina sano et kirjastossa on apua",  # a first name
        "tyttäreni Kaarina auttaa joskus",
        "me asutaan salon reunalla metsässä",  # salo: backwoods
        "mun nokia puhelin ei toimi",  # the brand
        "my Nokia phone is broken",
        "lahden rannalla on mökki",  # lahti: a bay
        "tein ilmoituksen varkaudesta",  # varkaus: a theft
        "sattui kolari tiellä",  # kolari: a car crash
        "en osaa käyttää sähköpostia",
        "kiitos paljon avusta",
        "where can i get help with my computer",
        "varför vill du veta det",  # one letter from Vårdö, but a word
        "vastaako tähän ihminen",  # "vastaa" + a clitic, one letter from Vantaa
        "lopeta jonottaminen",  # a verb, and over-generated "Lopeta" (Loppi)
        "asun pienellä luodolla saaristossa",  # an adjective before: luoto, an islet
        "ja har inga bankkoder",  # inga: none, not Ingå typed without accents
        "hur kokar man potatis",  # not Kökar
        "allt e borta",  # not Borgå
        "my colleague Inari said the library helps",  # a first name
    ],
)
def test_ordinary_words_are_not_municipalities(matcher, text):
    assert values(matcher, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("asun Kaarinassa", ["Kaarina"]),
        ("Salon kirjasto", ["Salo"]),
        ("asun salo", ["Salo"]),
        ("I live in Nokia near Tampere", ["Nokia", "Tampere"]),
        ("Nokialla", ["Nokia"]),
        ("iissä on kirjasto", ["Ii"]),
        ("Lahdessa", ["Lahti"]),
        ("salo", ["Salo"]),
    ],
)
def test_ambiguous_names_with_context_are_municipalities(matcher, text, expected):
    assert values(matcher, text) == expected


def test_rules_cover_consonant_gradation_and_stems():
    assert {"lahdessa", "lahteen", "lahden"} <= set(finnish_forms("Lahti"))
    assert {"helsingissä", "helsinkiin"} <= set(finnish_forms("Helsinki"))
    assert {"seinäjoella", "seinäjoelle", "seinäjoen"} <= set(finnish_forms("Seinäjoki"))
    assert {"kempeleessä", "kempeleeseen"} <= set(finnish_forms("Kempele"))
    assert {"kaskisissa", "kaskisten"} <= set(finnish_forms("Kaskinen"))
    assert {"lappeenrannassa"} <= set(finnish_forms("Lappeenranta"))
    assert finnish_forms("Oulu")["oulun"] == "genitive"


def test_offsets_point_at_the_words(matcher):
    text = "Hei, asun Rovaniemellä ja tarvitsen apua"
    [match] = matcher.find(text)
    assert text[match.start : match.end] == "Rovaniemellä"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("var ska ja vända mej i Lovisa", ["Loviisa"]),  # "vända" is a word, not "Vanda"
        ("Lahtis faktiskt", ["Lahti"]),  # the Swedish name of an ambiguous one is not ambiguous
        ("Björneborg i Satakunta", ["Pori"]),
        ("asun narpes", ["Närpiö"]),  # typed without Nordic letters
    ],
)
def test_accents_and_other_names(matcher, text, expected):
    assert values(matcher, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "asun Leppävaarassa",  # Espoo; two letters from Leppävirta
        "asun Karttulassa",  # Kuopio; one letter from Karstula, but not a slip of the keyboard
        "Karigasniemi on mun kotikylä",  # Utsjoki; two letters from Kangasniemi
        "tuun huomenna Savonrannalta",  # Savonlinna's village, not a typo of it
        "asun Nurmossa",  # Seinäjoki; not Nurmes
        "I live in Oulunkylä",  # a district of Helsinki built on "Oulun"
        "Espoonlahti",  # a district of Espoo: not a municipality named (SPEC §4)
        "Hattuvaara on mun kotikylä",
    ],
)
def test_villages_and_districts_are_not_municipalities(matcher, text):
    """SPEC §4: a district or village is not a municipality. The held-out place-free set
    (``make evaluate``) measures this on many more; these are the ones that once failed."""
    assert values(matcher, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("savonlinasa", ["Savonlinna"]),  # a letter missing and a typo in the ending
        ("borgo hjälp med datorn", ["Porvoo"]),  # Borgå with "o" for "å"
        ("finns det hjälp i Närpis", ["Närpiö"]),  # the local name
        ("helsinky where to get help", ["Helsinki"]),
        ("Tampete", ["Tampere"]),  # a neighbouring key
        ("asun Inarissa", ["Inari"]),  # a first name, but in a locative form
        ("asun tässä Kemissä", ["Kemi"]),  # "tässä" agrees, but the name is capitalised
        ("apua instagramin kanssa Porissa", ["Pori"]),  # a postposition before, not an adjective
    ],
)
def test_typos_people_make_are_still_found(matcher, text, expected):
    assert values(matcher, text) == expected


@pytest.mark.parametrize(
    ("a", "b", "slip"),
    [
        ("tampete", "tampere", True),  # r and t are neighbours
        ("karttula", "karstula", False),  # s and t are not
        ("rovanime", "rovanieme", True),  # a letter missing
        ("kuopoi", "kuopio", True),  # two letters swapped
        ("helsinky", "helsinki", True),  # a sound-alike
        ("leppavaara", "leppavirta", False),  # two letters
    ],
)
def test_one_slip(a, b, slip):
    from bot.nlu.text import one_slip

    assert one_slip(a, b) is slip
