"""Masking personal data: generated identity codes, phone numbers, e-mails, IBANs,
card numbers and credentials disappear from any text around them, while the
ordinary numbers and names of a support conversation stay as they are."""

from __future__ import annotations

import datetime as dt
import itertools
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.geo import Gazetteer
from bot.privacy import (
    PII_KINDS,
    PiiMatch,
    find_pii,
    install_log_redaction,
    redact_pii,
    redact_value,
    sensitive_kinds,
)

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGNS = {1800: "+", 1900: "-YXWVU", 2000: "ABCDEF"}

# Words around the data in generated messages: no digits, no credential keywords.
WORDS = [
    *"hei minun numeroni on tässä voitko soittaa kiitos paljon apua tarvitsen".split(),
    *"hej mitt nummer är här kan ni ringa tack mycket hjälp behöver".split(),
    *"hello my number is here can you call me thanks a lot help need".split(),
    *"Lieksa Närpes Helsinki Kela BankID Suomi.fi OmaKanta – ? !".split(),
]
MUNICIPALITIES = ["Helsinki", "Lieksa", "Närpes", "Pedersöre", "Maarianhamina", "Ii", "Kemiönsaari"]


def digits(size: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=size, max_size=size)


@st.composite
def identity_codes(draw: st.DrawFn, individual: st.SearchStrategy[int] | None = None) -> str:
    """A valid henkilötunnus for a date in 1800-2099, with any of its century's signs."""
    born = draw(st.dates(dt.date(1800, 1, 1), dt.date(2099, 12, 31)))
    sign = draw(st.sampled_from(CENTURY_SIGNS[born.year // 100 * 100]))
    number = draw(st.integers(2, 999) if individual is None else individual)
    date_and_number = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}{number:03d}"
    code = f"{date_and_number[:6]}{sign}{date_and_number[6:]}"
    code += CHECK_CHARACTERS[int(date_and_number) % 31]
    return code.lower() if draw(st.booleans()) else code


@st.composite
def finnish_phones(draw: st.DrawFn) -> str:
    """A mobile or landline number in the ways Finns write them."""
    if draw(st.booleans()):
        prefix = draw(st.sampled_from(["040", "041", "044", "045", "046", "050"]))
        sub = draw(digits(7))
        layouts = [
            f"{prefix} {sub[:3]} {sub[3:]}",
            f"{prefix}{sub}",
            f"{prefix}-{sub[:3]} {sub[3:5]} {sub[5:]}",
            f"{prefix} {sub}",
            f"{prefix}-{sub}",
        ]
    else:
        area = draw(
            st.sampled_from(["02", "03", "05", "06", "08", "09", "013", "014", "017", "019"])
        )
        sub = draw(st.integers(5, 10 - len(area)).flatmap(digits))
        layouts = [f"{area} {sub[:3]} {sub[3:]}", f"({area}) {sub[:4]} {sub[4:]}", f"{area}-{sub}"]
    return draw(st.sampled_from(layouts)).strip()


@st.composite
def international_phones(draw: st.DrawFn) -> str:
    """Finnish, Swedish and other numbers with "+" or "00" and a country code."""
    country = draw(st.sampled_from(["358", "46", "47", "45", "49", "372", "44"]))
    number = draw(st.sampled_from("123456789")) + draw(st.integers(7, 9).flatmap(digits))
    spaced = f"{number[:2]} {number[2:5]} {number[5:]}"
    layouts = [
        f"+{country} {spaced}",
        f"+{country}{number}",
        f"00{country} {spaced}",
        f"+{country} (0){spaced}",
        f"+{country} {number[:2]} {number[2:5]} {number[5:7]} {number[7:]}".strip(),
    ]
    return draw(st.sampled_from(layouts))


LOWER = "abcdefghijklmnopqrstuvwxyzäö"
emails = st.builds(
    "{}{}@{}.{}".format,
    st.text(LOWER, min_size=1, max_size=8),
    st.sampled_from(["", ".virtanen", "_1", "-k", "+digituki", ".2"]),
    st.sampled_from(["example", "posti", "kunta.fi", "mail-x", "hel"]),
    st.sampled_from(["fi", "se", "com", "org", "net", "info"]),
)


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616: 98 minus the remainder of BBAN + country + "00" as a number, mod 97."""
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


BBAN_SHAPES = {
    "FI": [(DIGITS, 14)],
    "SE": [(DIGITS, 20)],
    "NO": [(DIGITS, 11)],
    "DE": [(DIGITS, 18)],
    "EE": [(DIGITS, 16)],
    "GB": [(LETTERS, 4), (DIGITS, 14)],
    "FR": [(DIGITS, 10), (DIGITS + LETTERS, 11), (DIGITS, 2)],
}


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """A valid IBAN, compact or in groups of four."""
    country = draw(st.sampled_from(sorted(BBAN_SHAPES)))
    bban = "".join(
        draw(st.text(alphabet, min_size=n, max_size=n)) for alphabet, n in BBAN_SHAPES[country]
    )
    iban = country + iban_check_digits(country, bban) + bban
    if draw(st.booleans()):
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (1 if i % 2 else 2)
        total += d - 9 if d > 9 else d
    return str(-total % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid Visa, Mastercard, Amex, Discover or JCB number, grouped as printed."""
    prefix, length = draw(
        st.sampled_from(
            [
                *[("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16)],
                *[("34", 15), ("37", 15), ("6011", 16), ("35", 16)],
            ]
        )
    )
    body = prefix + draw(digits(length - len(prefix) - 1))
    number = body + luhn_check_digit(body)
    sizes = {13: [4, 3, 3, 3], 15: [4, 6, 5], 16: [4, 4, 4, 4], 19: [4, 4, 4, 4, 3]}[length]
    groups, start = [], 0
    for size in sizes:
        groups.append(number[start : start + size])
        start += size
    return draw(st.sampled_from([number, " ".join(groups), "-".join(groups)]))


@st.composite
def in_a_message(draw: st.DrawFn, values: st.SearchStrategy[str]) -> tuple[str, str]:
    """``value`` with words and punctuation around it, and the words kept as they are."""
    value = draw(values)
    before = draw(st.lists(st.sampled_from(WORDS), max_size=5))
    after = draw(st.lists(st.sampled_from(WORDS), max_size=5))
    opening = draw(st.sampled_from(["", "(", '"', "«"]))
    closing = draw(st.sampled_from(["", ".", ",", "!", "?", ":", ";", ")", '"']))
    text = " ".join([*before, f"{opening}{value}{closing}", *after])
    return text, value


KINDS_AND_VALUES = [
    ("identity_code", identity_codes()),
    ("phone", finnish_phones()),
    ("phone", international_phones()),
    ("email", emails),
    ("iban", ibans()),
    ("card", card_numbers()),
]


@pytest.mark.parametrize(("kind", "values"), KINDS_AND_VALUES, ids=[k for k, _ in KINDS_AND_VALUES])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_personal_data_is_masked_wherever_it_appears(
    kind: str, values: st.SearchStrategy[str], data: st.DataObject
) -> None:
    text, value = data.draw(in_a_message(values))
    assert redact_pii(text) == text.replace(value, f"[{kind}]", 1)


@settings(max_examples=50, deadline=None)
@given(code=identity_codes(individual=st.integers(900, 999)))
def test_temporary_identity_codes_are_masked(code: str) -> None:
    assert redact_pii(f"hetu {code}") == "hetu [identity_code]"


@settings(max_examples=50, deadline=None)
@given(code=identity_codes(), wrong=st.sampled_from(CHECK_CHARACTERS))
def test_a_mistyped_identity_code_is_still_masked(code: str, wrong: str) -> None:
    mistyped = code[:-1] + wrong
    assert redact_pii(f"tunnukseni {mistyped}, kiitos") == "tunnukseni [identity_code], kiitos"


@pytest.mark.parametrize(
    "text",
    [
        "Hetu 131052-308T",
        "henkilötunnus: 131052-308t.",
        "290200A1239",  # 29 Feb 2000
        "010594Y9032",  # a new century sign
        "010101+123N",  # born in 1801
    ],
)
def test_identity_code_examples(text: str) -> None:
    assert "[identity_code]" in redact_pii(text)
    assert sensitive_kinds(text) == {"identity_code"}


@pytest.mark.parametrize("text", ["290201A1239", "320190-1234", "311190-1234", "131052Q308T"])
def test_impossible_dates_are_not_identity_codes(text: str) -> None:
    assert redact_pii(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("soita 040 123 4567", "soita [phone]"),
        ("050-123 45 67 tai (09) 1234 567", "[phone] tai [phone]"),
        ("Ring +46 70 123 45 67.", "Ring [phone]."),
        ("00358 40 123 4567", "[phone]"),
        ("puh. 017 123 456, ma-pe 10-18", "puh. [phone], ma-pe 10-18"),
        ("040 123 4567 10-18", "[phone] 10-18"),
        ("IBAN FI21 1234 5600 0007 85", "IBAN [iban]"),
        ("GB82 WEST 1234 5698 7654 32", "[iban]"),
        ("kortti 4111-1111-1111-1111!", "kortti [card]!"),
        ("Amex 3782 822463 10005", "Amex [card]"),
        ("matti.meikäläinen@example.fi:lle", "[email]:lle"),
    ],
)
def test_examples_are_masked(text: str, expected: str) -> None:
    assert redact_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "FI21 1234 5600 0007 84",  # check digits do not match
        "4111 1111 1111 1112",  # fails the Luhn check
        "matti@example",  # no top-level domain
    ],
)
def test_near_misses_stay(text: str) -> None:
    assert redact_pii(text) == text


secrets = st.builds(
    "{}{}{}".format,
    st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=8),
    st.integers(0, 9999),
    st.sampled_from(["", "#", "%x", "&ab"]),
)
pins = st.integers(1000, 999_999).map(str)
CREDENTIAL_TEMPLATES = [
    ("mun salasana on {secret}", secrets),
    ("Salasana: {secret}", secrets),
    ("verkkopankin salasanani on siis {secret}.", secrets),
    ("lösenordet är {secret}", secrets),
    ("mitt användarnamn: {secret}", secrets),
    ("my password is {secret}", secrets),
    ("the password for my bank is {secret}, help", secrets),
    ("PIN {secret}", pins),
    ("PIN-koodi on {secret}", pins),
    ("min pinkod är {secret}", pins),
    ("tunnusluku {secret}", pins),
    ("avainluku {secret} ei käy", pins),
    ("käyttäjätunnus {secret}", pins),
    ("user id: {secret}", pins),
]


@pytest.mark.parametrize(
    ("template", "values"), CREDENTIAL_TEMPLATES, ids=[t for t, _ in CREDENTIAL_TEMPLATES]
)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_credentials_after_a_keyword_are_masked(
    template: str, values: st.SearchStrategy[str], data: st.DataObject
) -> None:
    secret = data.draw(values)
    text = template.format(secret=secret)
    assert redact_pii(text) == template.format(secret="[credentials]")
    assert sensitive_kinds(text) == {"credentials"}


@pytest.mark.parametrize(
    "text",
    [
        "Unohdin salasanani, mitä teen?",
        "salasana on unohtunut",
        "Mun salasana ei toimi",
        "my password is wrong",
        "I forgot my password. Can you help?",
        "Jag har glömt mitt lösenord",
        "lösenordet är fel",
        "Pankkitunnukset hukassa 12.3.",
        "Tarvitsen apua PIN-koodin kanssa",
        "PIN-koodi 3 kertaa väärin",
        "Miten saan uudet pankkitunnukset?",
        "käyttäjätunnus on sama kuin ennen",
    ],
)
def test_talking_about_credentials_is_not_a_credential(text: str) -> None:
    assert redact_pii(text) == text
    assert sensitive_kinds(text) == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Asun Pielisentie 12 B 3, 81700 Lieksa", "Asun [address], 81700 Lieksa"),
        ("osoite Kauppakatu 5 as. 5", "osoite [address]"),
        ("asun Kauppakadulla 15a", "asun [address]"),
        ("Jag bor på Storgatan 3 lgh 1102 i Vasa", "Jag bor på [address] i Vasa"),
        ("Strandvägen 7 A, Närpes", "[address], Närpes"),
        ("Mannerheimintie 5-7", "[address]"),
        ("Pohjois-Esplanadi 11", "[address]"),
    ],
)
def test_street_addresses_with_a_number_are_masked(text: str, expected: str) -> None:
    assert redact_pii(text) == expected
    assert sensitive_kinds(text) == set()


# --- ordinary text stays ---------------------------------------------------

dates = st.builds(
    lambda day, layout: layout.format(day=day, d=day.day, m=day.month, y=day.year),
    st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
    st.sampled_from(
        [
            "{day:%d.%m.%Y}",
            "{d}.{m}.{y}",
            "{day:%Y-%m-%d}",
            "{d}.{m}.",
            "{day:%d/%m/%Y}",
            "{day:%d.%m.%y}",
            "{day:%d-%m-%Y}",
            "{day:%d-%m-%y}",
        ]
    ),
)
times = st.builds(
    lambda a, b, m, layout: layout.format(a=a, b=b, m=m),
    st.integers(0, 23),
    st.integers(0, 23),
    st.sampled_from([0, 15, 30, 45]),
    st.sampled_from(
        [
            "{a}:{m:02d}",
            "{a:02d}:{m:02d}-{b:02d}:{m:02d}",
            "klo {a}-{b}",
            "{a:02d}.{m:02d}–{b:02d}.00",
        ]
    ),
)
OPENING_HOURS = [
    "Mo-Fr 10:00-18:00",
    "Mo-Fr 08:00-16:00; Sa 10:00-14:00",
    "ma-pe 8-16",
    "ma–to 9.00–17.00, pe 9.00–15.00",
    "må-fr 10-18, lö 10-14",
    "auki ti 12-19 ja to 09-15",
    "08-16 09-14",
]
postal_codes = st.builds(
    "{:05d}{}".format, st.integers(0, 99999), st.sampled_from(["", " Helsinki", " Lieksa", " Vasa"])
)
amounts = st.builds(
    lambda n, unit: f"{n:,}".replace(",", " ") + unit,
    st.integers(0, 10**9),
    st.sampled_from([" euroa", " €", " e", " kr", " euros"]),
)
ordinary_fragments = st.one_of(
    dates,
    times,
    st.sampled_from(OPENING_HOURS),
    postal_codes,
    amounts,
    st.integers(1800, 2100).map(str),
    st.integers(0, 999).map(str),
    st.sampled_from(MUNICIPALITIES + WORDS),
)
ordinary_text = st.builds(
    lambda parts, joiner: joiner.join(parts),
    st.lists(ordinary_fragments, min_size=1, max_size=8),
    st.sampled_from([", ", " ja ", " och ", " and ", "; ", " – "]),
)


@settings(max_examples=150, deadline=None)
@given(text=ordinary_text)
def test_dates_times_hours_postal_codes_amounts_and_places_stay(text: str) -> None:
    assert redact_pii(text) == text


def test_no_municipality_name_is_masked(gazetteer: Gazetteer) -> None:
    names = {
        name for m in gazetteer.municipalities for name in (m.name_fi, m.name_sv, *m.other_names)
    }
    for name in sorted(names):
        for text in (name, f"Jag bor i {name}", f"I live in {name}, postal code 00100"):
            assert redact_pii(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Kirjasto on auki ma-pe 10-18, osoite Pielisentie",
        "Jag bor i Närpes och behöver hjälp med BankID",
        "I got a new phone on 12.3.2025",
        "Tarvitsen apua Kelan asioissa, asun Lieksassa",
        "Missä on lähin digituki? Postinumero 81700",
        "Sain uuden puhelimen 24.12. ja en osaa käyttää sitä",
        "Voiko kurssille tulla 27.11.2026 klo 10:00?",
        "Maksoin 1 500 euroa tietokoneesta vuonna 2024",
        "Onko Maarianhamina tai Kemiönsaari lähellä? Asun Ii:ssä.",
        "Olen 75-vuotias ja tarvitsen apua Suomi.fi-tunnistautumisen kanssa",
        "Behöver hjälp med Kanta och e-recept, jag är 80 år",
        "Kan jag komma på måndag 10-12 till biblioteket i Pedersöre?",
        "Where can I get help with OmaKanta in Helsinki? I am free 9-11",
        "My bank sent me a letter on 2026-01-15 about a new app",
        "Helsingin kirjasto Oodi on auki Mo-Fr 08:00-22:00",
        "Soitin 112 ja 116 117, mutta en saanut apua",
        "Bussilla 550 pääsee perille 15 minuutissa",
        "Kävelin kadulla 2 tuntia",
        "Osoite on Mannerheimintie, numeroa en muista",
        "Aukioloajat 08-16 09-14, kesällä suljettu",
        "Vaihdoin PIN-koodin 3 kertaa, salasana on edelleen hukassa",
    ],
)
def test_ordinary_messages_stay(text: str) -> None:
    assert redact_pii(text) == text
    assert sensitive_kinds(text) == set()


# --- properties of the API ---------------------------------------------------

markers = st.sampled_from([f"[{kind}]" for kind in PII_KINDS])
# Pieces that put data, markers and numbers right next to each other.
tricky_fragments = st.one_of(
    st.sampled_from([" ", "\n"]),
    st.sampled_from("- + (0) ( ) . , : = @ @x.fi [ ] ' 00 0 358 FI GB B as.".split()),
    st.sampled_from(
        "salasana PIN password lösenordet on is är Kissa kissa Kauppakatu Storgatan".split()
    ),
    markers,
    st.text(DIGITS, min_size=1, max_size=8),
    identity_codes(),
    finnish_phones(),
    international_phones(),
    emails,
    ibans(),
    card_numbers(),
)
tricky_text = st.lists(tricky_fragments, max_size=15).map("".join)


@pytest.mark.parametrize(
    "text",
    [
        "131052-308T@x.fi@x.fi",  # an e-mail inside one that loses to the identity code
        "050-123 45 67@x.fi",  # a shorter phone number left before the e-mail
        "Kauppakatu 5 B 12@x.fi",  # an address without its flat
        "salasana: Kissa1@x.fi",
        "password is ab:040 1234 567",
        "FI2112345600000785@x.fi",
    ],
)
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once = redact_pii(text)
    assert once != text
    assert redact_pii(once) == once


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(), tricky_text))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_pii(text)
    assert redact_pii(once) == once


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(st.text(), tricky_text))
def test_matches_are_sorted_disjoint_and_explain_the_redaction(text: str) -> None:
    matches = find_pii(text)
    assert all(isinstance(m, PiiMatch) and m.kind in PII_KINDS for m in matches)
    assert all(0 <= m.start < m.end <= len(text) for m in matches)
    assert all(a.end <= b.start for a, b in itertools.pairwise(matches))
    rebuilt, last = [], 0
    for m in matches:
        rebuilt += [text[last : m.start], f"[{m.kind}]"]
        last = m.end
    assert redact_pii(text) == "".join(rebuilt) + text[last:]
    assert sensitive_kinds(text) <= {m.kind for m in matches}


def test_only_harmful_kinds_need_a_warning() -> None:
    text = "Olen Matti, 040 123 4567, matti@example.fi, Kauppakatu 5. Hetu 131052-308T, PIN 1234"
    assert sensitive_kinds(text) == {"identity_code", "credentials"}
    assert sensitive_kinds("kortti 4111 1111 1111 1111, tili FI21 1234 5600 0007 85") == {
        "card",
        "iban",
    }


@pytest.mark.parametrize(
    "text",
    [
        "0" * 100_000,
        "1 " * 50_000,
        "a" * 100_000,
        "a." * 50_000 + "@",
        "salasana " * 20_000,
        "Kauppakatu " * 20_000,
        "040 123 4567 " * 2_000,
    ],
    ids=["zeros", "digit-groups", "one-word", "dotted", "keywords", "streets", "phones"],
)
def test_long_input_is_masked_without_getting_stuck(text: str) -> None:
    # Backtracking gone wrong would take minutes on inputs this long (`make bench` has no
    # figure for it; a hang here is the failure).
    masked = redact_pii(text)
    assert "040 123 4567" not in masked and len(masked) <= len(text)


def test_every_string_in_a_stored_event_is_masked_and_nothing_else_changes() -> None:
    event = {
        "event": "user",
        "timestamp": 1795836080.5,
        "text": "hetu 131052-308T, soita 040 123 4567",
        "parse_data": {
            "intent": {"name": "inform", "confidence": 0.91},
            "entities": [{"entity": "municipality", "value": "Lieksa", "start": 0, "end": 6}],
            "text": "hetu 131052-308T, soita 040 123 4567",
        },
        "metadata": {
            "page_url": "https://example.org/?from=nimi@example.fi",
            "flags": [True, None],
        },
    }
    masked = redact_value(event)
    assert masked["text"] == masked["parse_data"]["text"] == "hetu [identity_code], soita [phone]"
    assert masked["metadata"]["page_url"] == "https://example.org/?from=[email]"
    assert masked["parse_data"]["intent"] == {"name": "inform", "confidence": 0.91}
    assert masked["parse_data"]["entities"] == event["parse_data"]["entities"]
    assert masked["metadata"]["flags"] == [True, None] and masked["timestamp"] == event["timestamp"]
    assert event["text"].startswith("hetu 131052")  # the original is left as it was
    assert redact_value(("040 123 4567", 5)) == ["[phone]", 5]


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_log_messages_of_any_logger_are_masked() -> None:
    install_log_redaction()
    install_log_redaction()  # once is enough; twice changes nothing
    kept = _Kept()
    loggers = [logging.getLogger(name) for name in ("rasa.core.processor", "sanic.access")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:  # other libraries' loggers as much as ours
        logger.addHandler(kept)
        logger.setLevel(logging.INFO)
    try:
        loggers[0].info("Received user message '%s'", "hetu 131052-308T")
        loggers[1].info("from nimi@example.fi: %d", 5)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(kept)
            logger.setLevel(level)
    assert kept.messages == ["Received user message 'hetu [identity_code]'", "from [email]: 5"]
