"""The closed vocabularies of SPEC §4 and §6: topics, support forms, languages, ...

Every other module validates against these sets, so a value that is valid in the
NLU contract is valid in the database, the importer and the search.
"""

from __future__ import annotations

AUTHORITY_TOPICS: tuple[str, ...] = (
    "kela",
    "tax",
    "health",
    "suomifi",
    "employment",
    "immigration",
    "police",
)
"""Topics whose content advice belongs to the authority's own service channel."""

SHARED_TOPICS: tuple[str, ...] = ("identification",)

GENERAL_TOPICS: tuple[str, ...] = (
    "email",
    "social_media",
    "video_call",
    "streaming",
    "banking",
    "shopping",
    "transport",
    "security",
    "smartphone",
    "tablet",
    "computer",
    "basics",
)
"""General digital skills; a provider listing ``basics`` covers all of them."""

TOPICS: frozenset[str] = frozenset(AUTHORITY_TOPICS + SHARED_TOPICS + GENERAL_TOPICS)

REMOTE_FORMS: tuple[str, ...] = ("phone", "video", "chat")
SUPPORT_FORMS: frozenset[str] = frozenset(("in_person", "home_visit", "training", *REMOTE_FORMS))
QUERY_FORMS: frozenset[str] = SUPPORT_FORMS | {"remote"}
"""Forms a search may ask for: ``remote`` stands for any of phone, video and chat."""

ORG_TYPES: frozenset[str] = frozenset(
    {
        "library",
        "association",
        "company",
        "municipality",
        "authority",
        "parish",
        "education",
        "other",
    }
)

TARGET_GROUPS: frozenset[str] = frozenset(
    {"everyone", "seniors", "immigrants", "disabled", "youth"}
)

LANGUAGES: dict[str, str] = {
    "fi": "suomi / Finnish",
    "sv": "ruotsi / Swedish",
    "en": "englanti / English",
    "se": "pohjoissaame / Northern Sámi",
    "ru": "venäjä / Russian",
    "et": "viro / Estonian",
    "ar": "arabia / Arabic",
    "so": "somali / Somali",
    "fa": "persia / Persian",
    "uk": "ukraina / Ukrainian",
    "ku": "kurdi / Kurdish",
    "sq": "albania / Albanian",
    "tr": "turkki / Turkish",
    "zh": "kiina / Chinese",
    "vi": "vietnam / Vietnamese",
    "th": "thai / Thai",
    "de": "saksa / German",
    "fr": "ranska / French",
    "es": "espanja / Spanish",
    "pl": "puola / Polish",
    "ps": "pashto / Pashto",
    "ti": "tigrinja / Tigrinya",
    "ro": "romania / Romanian",
    "bg": "bulgaria / Bulgarian",
    "hu": "unkari / Hungarian",
    "lv": "latvia / Latvian",
    "lt": "liettua / Lithuanian",
    "sgn": "viittomakieli / sign language",
}
"""Service languages: ISO 639-1 codes (``sgn`` for sign language, which has none)."""


def covering_topics(topic: str) -> frozenset[str]:
    """Topics a provider may list to cover ``topic`` (``basics`` covers general skills)."""
    if topic in GENERAL_TOPICS and topic != "basics":
        return frozenset({topic, "basics"})
    return frozenset({topic})


def forms_for(query_form: str) -> frozenset[str]:
    """Concrete support forms that satisfy a query form (``remote`` is phone, video or chat)."""
    if query_form == "remote":
        return frozenset(REMOTE_FORMS)
    return frozenset({query_form})
