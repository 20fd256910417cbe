"""Find and mask personal data in free text before it is stored or logged.

Everything that keeps what people write (tracker events, analytics, logs,
handoff transcripts) masks it with :func:`redact_pii`; the bot warns the person
when :func:`sensitive_kinds` is not empty.

Detection favours recall for data that can do harm (identity codes, card
numbers, IBANs, credentials) and stays away from the ordinary numbers of a
support conversation: dates, times, opening hours, postal codes, amounts, years.

Masking is idempotent, so stored text can be masked again safely: no match
starts right after a letter, a digit or ``]`` or ends right before one or
``[``, markers contain nothing a pattern matches, and detectors offer every
start and every valid length as a candidate, so whatever could still match
after masking was already a candidate the first time.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PII_KINDS",
    "SENSITIVE_KINDS",
    "PiiMatch",
    "find_pii",
    "install_log_redaction",
    "redact_pii",
    "redact_value",
    "sensitive_kinds",
]

PII_KINDS = ("identity_code", "phone", "email", "iban", "card", "credentials", "address")
# What the bot warns the person about; phones, e-mails and addresses are only masked.
SENSITIVE_KINDS = frozenset({"identity_code", "card", "iban", "credentials"})


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One piece of personal data: its kind and its span ``text[start:end]``."""

    kind: str
    start: int
    end: int


def find_pii(text: str) -> list[PiiMatch]:
    """Personal data in ``text``: non-overlapping matches sorted by start."""
    candidates = [(priority, match) for detect in _DETECTORS for priority, match in detect(text)]
    # The more specific kind wins an overlap (an identity code over a phone-like
    # number, an IBAN over a card, anything over an address); within a kind,
    # the longer match.
    candidates.sort(key=lambda c: (c[0], c[1].start - c[1].end, c[1].start))
    starts: list[int] = []
    chosen: list[PiiMatch] = []
    for _, match in candidates:
        i = bisect.bisect_right(starts, match.start)
        if i > 0 and chosen[i - 1].end > match.start:
            continue
        if i < len(chosen) and chosen[i].start < match.end:
            continue
        starts.insert(i, match.start)
        chosen.insert(i, match)
    return chosen


def redact_pii(text: str) -> str:
    """``text`` with every piece of personal data replaced by a marker such as ``[phone]``."""
    parts: list[str] = []
    last = 0
    for match in find_pii(text):
        parts.append(text[last : match.start])
        parts.append(f"[{match.kind}]")
        last = match.end
    parts.append(text[last:])
    return "".join(parts)


def redact_value(value: Any) -> Any:
    """``value`` (JSON-like: a stored event, a slot) with every string in it masked.

    Keys are kept as they are; numbers, booleans and ``None`` pass unchanged.
    """
    if isinstance(value, str):
        return redact_pii(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


_log_redaction_installed = False


def install_log_redaction() -> None:
    """Masks personal data in every log message of this process, whoever logs it.

    Records are masked as they are made (``logging.setLogRecordFactory``), so Rasa's,
    Sanic's and aiohttp's loggers are covered as well as ours, whatever their handlers.
    Calling it again does nothing.
    """
    global _log_redaction_installed
    if _log_redaction_installed:
        return
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it itself later
            return record
        record.msg, record.args = redact_pii(message), ()
        return record

    logging.setLogRecordFactory(masked_record)
    _log_redaction_installed = True


def sensitive_kinds(text: str) -> set[str]:
    """The kinds of data in ``text`` the person should be warned not to share."""
    return {match.kind for match in find_pii(text)} & SENSITIVE_KINDS


# --- shared pieces ----------------------------------------------------------

_Candidate = tuple[int, PiiMatch]

# Left boundary of every match: not inside a word or number, not right after a marker.
_LEFT = r"(?<![\w\]])"
# Numbers do not continue a number glued on with punctuation ("1.09 123", "10-050").
_NOT_AFTER_NUMBER = r"(?<![0-9\]][-–:./,])"
# What may not follow a match: a word character, a marker, or more of a number.
_RUNS_ON_PATTERN = r"[\w\[]|[-–:./,][0-9\[]"
_RUNS_ON = re.compile(_RUNS_ON_PATTERN)
_RIGHT = rf"(?!{_RUNS_ON_PATTERN})"
_DIGIT_RUN = re.compile(r"[0-9]+")


def _search_all(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Every match of ``pattern``, also those starting inside an earlier one."""
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        yield match
        pos = match.start() + 1


def _ends_cleanly(text: str, end: int) -> bool:
    return _RUNS_ON.match(text, end) is None


def _valid_ends(text: str, match: re.Match[str], is_valid: Callable[[str], bool]) -> Iterator[int]:
    """Ends of the valid numbers that start where ``match`` does, cut after a digit group.

    Number patterns run greedily across separators ("040 123 4567 10-18"); every
    run of groups that is valid on its own is a candidate, and the longest one
    that does not overlap a stronger match wins in :func:`find_pii`.
    """
    start = match.start()
    for group in _DIGIT_RUN.finditer(match.group()):
        end = start + group.end()
        if _ends_cleanly(text, end) and is_valid(text[start:end]):
            yield end


# --- identity codes ---------------------------------------------------------

_IDENTITY_CODE = re.compile(
    _LEFT + r"([0-9]{2})([0-9]{2})([0-9]{2})([-+A-FU-Ya-fu-y])([0-9]{3})([0-9A-Za-z])" + _RIGHT
)
_CENTURY = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}


def _identity_codes(text: str) -> Iterator[_Candidate]:
    """Henkilötunnus DDMMYYCZZZQ with a real date.

    The check character Q is not verified: a code with a mistyped one is still
    a person's code, and the date, century sign and shape are rare enough.
    """
    for m in _search_all(_IDENTITY_CODE, text):
        day, month, year, sign = m.group(1, 2, 3, 4)
        try:
            dt.date(_CENTURY[sign.upper()] + int(year), int(month), int(day))
        except ValueError:
            continue
        yield 0, PiiMatch("identity_code", m.start(), m.end())


# --- IBANs ------------------------------------------------------------------

# Lengths from the SWIFT IBAN registry.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip
_IBAN_START = re.compile(_LEFT + r"([A-Za-z]{2})([0-9]{2})")
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _iban_body_end(text: str, pos: int, count: int) -> tuple[int, str] | None:
    """End and characters of ``count`` letters/digits from ``pos``, single spaces allowed."""
    chars: list[str] = []
    while len(chars) < count and pos < len(text):
        if text[pos] in _ALNUM:
            chars.append(text[pos])
        elif not (text[pos] == " " and text[pos + 1 : pos + 2] in _ALNUM):
            break
        pos += 1
    return (pos, "".join(chars)) if len(chars) == count else None


def _ibans(text: str) -> Iterator[_Candidate]:
    """IBANs of any registry country, compact or in groups, passing ISO 13616 mod 97."""
    for m in _search_all(_IBAN_START, text):
        country = m.group(1).upper()
        length = _IBAN_LENGTHS.get(country)
        if length is None:
            continue
        body = _iban_body_end(text, m.end(), length - 4)
        if body is None or not _ends_cleanly(text, body[0]):
            continue
        rearranged = body[1] + country + m.group(2)
        if int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1:
            yield 1, PiiMatch("iban", m.start(), body[0])


# --- payment cards ----------------------------------------------------------

_CARD = re.compile(
    _LEFT + r"(?<!\+)" + _NOT_AFTER_NUMBER + r"[1-9][0-9]{3,18}(?:[ -][0-9]{2,6}){0,6}"
)


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn_ok(digits: str) -> bool:
    total = sum(map(int, digits[-1::-2])) + sum(_LUHN_DOUBLED[int(c)] for c in digits[-2::-2])
    return total % 10 == 0


def _is_card(candidate: str) -> bool:
    groups = _DIGIT_RUN.findall(candidate)
    digits = "".join(groups)
    # Written in one block or starting with a group of four ("4111 1111 ...", "3782 822463 ..."),
    # which amounts with thousands separators ("1 500 000") never do.
    shaped = len(groups) == 1 or len(groups[0]) == 4
    return shaped and 13 <= len(digits) <= 19 and _luhn_ok(digits)


def _cards(text: str) -> Iterator[_Candidate]:
    """Card numbers: 13-19 digits, in one block or groups, passing the Luhn check."""
    for m in _search_all(_CARD, text):
        for end in _valid_ends(text, m, _is_card):
            yield 2, PiiMatch("card", m.start(), end)


# --- e-mail -----------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+%\-\]])[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w\[])")


def _emails(text: str) -> Iterator[_Candidate]:
    """E-mail addresses."""
    for m in _search_all(_EMAIL, text):
        yield 3, PiiMatch("email", m.start(), m.end())


# --- phone numbers ----------------------------------------------------------

_PHONE_START = _LEFT + r"(?<!\+)" + _NOT_AFTER_NUMBER
# "040 123 4567", "0401234567", "050-123 45 67", "09 123 4567", "(09) 1234 567".
_PHONE_NATIONAL = re.compile(
    _PHONE_START
    + r"(?:\(0[1-9][0-9]{0,2}\)[ ]?[0-9]{1,10}|0[1-9][0-9]{0,11})(?:[ -][0-9]{1,10}){0,5}"
)
# "+358 40 123 4567", "+358 (0)40 123 4567", "00358 40 ...", "+46 70 123 45 67".
_PHONE_INTERNATIONAL = re.compile(
    _PHONE_START
    + r"(?:\+|00)[1-9][0-9]{0,13}(?:[ -]?\(0\)[ -]?[0-9]{1,10})?(?:[ -][0-9]{1,10}){0,6}"
)
# "09-12-2025", "05 06 2025": a date, not Helsinki or Mikkeli.
_DATE_LIKE = re.compile(r"[0-9]{1,2}([ -])[0-9]{1,2}\1[0-9]{2,4}")
# "08-16 09-14": opening hours, not a Seinäjoki number.
_HOURS_LIKE = re.compile(r"(?:[01][0-9]|2[0-4])-(?:[01][0-9]|2[0-4])(?![0-9])")
# ITU calling codes of one and two digits; all others have three.
_SHORT_CALLING_CODES = frozenset(
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split()
)


def _is_national_phone(candidate: str) -> bool:
    groups = _DIGIT_RUN.findall(candidate)
    digits = sum(map(len, groups))
    if _DATE_LIKE.fullmatch(candidate) or _HOURS_LIKE.match(candidate):
        return False
    if candidate.count("(") != candidate.count(")"):
        return False
    return 7 <= digits <= (12 if len(groups) == 1 else 11)


def _is_international_phone(candidate: str) -> bool:
    digits = "".join(_DIGIT_RUN.findall(candidate.replace("(0)", "")))
    if candidate.startswith("00"):
        # Without the "+", insist on a real calling code followed by a national
        # number, so that "00100 2025 ..." (a postal code and numbers) stays.
        digits = digits[2:]
        size = next((n for n in (1, 2) if digits[:n] in _SHORT_CALLING_CODES), 3)
        if digits[size : size + 1] == "0" and digits[:size] != "39":  # Italy keeps its 0
            return False
    return 8 <= len(digits) <= 15


def _phones(text: str) -> Iterator[_Candidate]:
    """Finnish mobile and landline numbers, and international ones with ``+`` or ``00``."""
    for pattern, is_valid in (
        (_PHONE_NATIONAL, _is_national_phone),
        (_PHONE_INTERNATIONAL, _is_international_phone),
    ):
        for m in _search_all(pattern, text):
            for end in _valid_ends(text, m, is_valid):
                yield 4, PiiMatch("phone", m.start(), end)


# --- credentials ------------------------------------------------------------

_CREDENTIAL_KEYWORD = re.compile(
    r"""(?<![\w\]])
    (?: \w*salasan\w*                      # salasana, salasanani, pankkisalasana
      | \w*tunnu[sk]\w*                    # tunnus, käyttäjätunnus, pankkitunnukset, tunnusluku
      | \w*avainlu[kv]u\w*                 # avainluku, avainluvut
      | \w*lösenord\w*                     # lösenord, lösenordet
      | \w*användar(?:namn|-?id)\w*        # användarnamn, användar-id
      | pin(?:[- ]?(?:koodi|kod|code|luku|numero|number)\w*)?  # PIN, PIN-koodi, pinkoden
      | pass(?:word|code|phrase)s?
      | user[ -]?(?:name|id)s?
    )
    (?=[\s:=]|$)""",
    re.IGNORECASE | re.VERBOSE,
)
_TOKEN = re.compile(r"\S+")
_COPULAS = frozenset(
    {"on", "oli", "ovat", "olivat", "olis", "ois", "is", "was", "are", "were", "är", "var"}
)
_FILLERS = frozenset(
    {"siis", "nyt", "vielä", "edelleen", "vaan", "now", "still", "just", "actually"}
    | {"nu", "alltså", "fortfarande", "bara"}
)
_QUOTES = "\"'“”„«»‘’"
_LEADING = "(" + _QUOTES
_TRAILING = ".,;:!?)" + _QUOTES
_SECRET_SYMBOLS = frozenset("!@#$%^&*_+=?/\\|~<>")
_MAX_TOKENS_AFTER_KEYWORD = 8
_MAX_WORDS_BEFORE_VALUE = 3


def _looks_secret(value: str, min_length: int) -> bool:
    """A password or code rather than a word: has a digit, a capital or a symbol."""
    return len(value) >= min_length and any(
        c.isdigit() or c.isupper() or c in _SECRET_SYMBOLS for c in value
    )


def _credential_value(text: str, pos: int) -> tuple[int, int] | None:
    """Span of the secret that a credential keyword ending at ``pos`` introduces.

    "PIN 1234" and "salasana Kissa123" give the value right away (it must have
    a digit); "my password for the bank is hunter2", "lösenordet är hemligt1"
    and "salasana: kissa" introduce it with a copula or a colon. Plain words
    are never taken after a copula alone, so "my password is wrong" and
    "salasana on unohtunut" stay as they are.
    """
    introduced = explicit = False
    if text[pos : pos + 1] in (":", "="):
        introduced = explicit = True
        pos += 1
    words = 0
    for count, token in enumerate(_TOKEN.finditer(text, pos)):
        raw = token.group()
        if count == _MAX_TOKENS_AFTER_KEYWORD or "[" in raw or "]" in raw:
            return None
        if raw in (":", "=", "-", "–"):
            introduced = explicit = True
            continue
        word = raw.rstrip(":").lower()
        if word in _COPULAS:
            introduced = True
            explicit = explicit or raw.endswith(":")
            continue
        if introduced and word in _FILLERS:
            continue
        start, end = token.span()
        while start < end and text[start] in _LEADING:
            start += 1
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        value = text[start:end]
        if not value:
            return None
        if introduced:
            quoted = raw[0] in _QUOTES
            return (start, end) if explicit or quoted or _looks_secret(value, 3) else None
        if words == 0 and _looks_secret(value, 4) and any(c.isdigit() for c in value):
            return start, end
        plain = value.isalpha() and value.islower()
        if not plain or words == _MAX_WORDS_BEFORE_VALUE or raw not in (value, value + ":"):
            return None
        words += 1
        introduced = explicit = raw.endswith(":")
    return None


def _credentials(text: str) -> Iterator[_Candidate]:
    """Passwords, PINs, key codes and user ids given after a keyword that names them."""
    for m in _search_all(_CREDENTIAL_KEYWORD, text):
        span = _credential_value(text, m.end())
        if span is not None:
            yield 6, PiiMatch("credentials", *span)


# --- street addresses -------------------------------------------------------

# Street name endings, with the Finnish forms for "on/to/from the street"
# ("asun Kauppakadulla 5"). Only compound names count ("Pielisentie", not
# "tie"), so "kävelin kadulla 2 tuntia" is not an address.
_STREET_ENDINGS = (
    "katu", "kadulla", "kadulle", "kadulta", "kadun",
    "tie", "tiellä", "tielle", "tieltä", "tien",
    "kuja", "kujalla", "kujalle", "kujalta", "kujan",
    "polku", "polulla", "polulle", "polulta", "polun",
    "väylä", "väylällä", "väylälle", "väylältä", "väylän",
    "ranta", "rannalla", "rannalle", "rannalta", "rannan",
    "kaari", "kaarella", "kaarelle", "kaarelta", "kaaren",
    "rinne", "rinteellä", "rinteelle", "rinteeltä", "rinteen",
    "raitti", "raitilla", "raitille", "raitilta", "raitin",
    "aukio", "aukiolla", "aukiolle", "aukiolta", "aukion",
    "puistikko", "bulevardi", "esplanadi",
    "gatan", "vägen", "väg", "gränd", "gränden", "stigen", "backen", "torget", "allén",
)  # fmt: skip
# Helsinki's own streets with no compound name.
_STREETS_WITHOUT_PREFIX = frozenset({"bulevardi", "esplanadi"})
_ADDRESS = re.compile(
    r"""(?<![\w\]-])
    (?P<street>[^\W\d_]+(?:-[^\W\d_]+)*)
    [ ][1-9][0-9]{0,3}[a-h]?(?:[-–][1-9][0-9]{0,3}[a-h]?)?  # house number: 5, 5a, 10-12
    (?P<flat> ,?[ ] (?: (?-i:[A-H])(?:[ ]?[0-9]{1,3})?     # staircase and flat: "B 12", "A"
               | (?:as|asunto|lgh|lägenhet|bst)\.?[ ]?[1-9][0-9]{0,3} ) )?  # "as. 5", "lgh 1102"
    """
    + _RIGHT,
    re.IGNORECASE | re.VERBOSE,
)


def _is_street_name(word: str) -> bool:
    word = word.lower()
    if word in _STREETS_WITHOUT_PREFIX:
        return True
    return any(word.endswith(e) and len(word) >= len(e) + 2 for e in _STREET_ENDINGS)


def _addresses(text: str) -> Iterator[_Candidate]:
    """Street addresses with a house number ("Pielisentie 12 B 3", "Storgatan 5")."""
    for m in _search_all(_ADDRESS, text):
        if _is_street_name(m.group("street")):
            yield 7, PiiMatch("address", m.start(), m.end())
            if m.group("flat") and _ends_cleanly(text, m.start("flat")):
                yield 7, PiiMatch("address", m.start(), m.start("flat"))


_DETECTORS: tuple[Callable[[str], Iterator[_Candidate]], ...] = (
    _identity_codes,
    _ibans,
    _cards,
    _emails,
    _phones,
    _credentials,
    _addresses,
)
