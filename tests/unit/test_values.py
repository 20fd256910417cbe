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


def test_a_phrase_often_said_without_its_label_is_not_spotted():
    from bot.nlu.values import ValueLexicon

    lexicon = ValueLexicon()
    for _ in range(3):
        lexicon.learn("support_form", "on the phone", "phone")
        lexicon.learn("support_form", "at my home", "home_visit")
    long = "maybe someone could help me on the phone later"
    assert lexicon.spot("support_form", long) == [(28, 40, "phone")]
    # Said of a scammer twice in training, unlabelled: 3 of 5 is not clear enough.
    lexicon.count_occurrences("support_form", "a man on the phone said he is from the bank", [])
    lexicon.count_occurrences(
        "support_form", "someone on the phone asked me for all my bank codes yesterday", []
    )
    assert lexicon.spot("support_form", long) == []
    # A labelled occurrence is not counted against its phrase.
    lexicon.count_occurrences("support_form", "help at my home please", [(5, 15)])
    assert lexicon.spot("support_form", "could you please help at my home tomorrow or so") == [
        (22, 32, "home_visit")
    ]
    # Seen once: a phrase of two words or more, never said without its label.
    lexicon.learn("support_form", "hem till mig", "home_visit")
    lexicon.learn("support_form", "hemma", "home_visit")
    assert lexicon.spot("support_form", "kan någon komma hem till mig") == [(16, 28, "home_visit")]
    assert lexicon.spot("support_form", "hemma") == []  # one word, seen once
    # Read as an answer to "how would you like help?", a clear learned phrase is enough in
    # an answer-length message; standing alone it is still said of scammers.
    assert lexicon.spot("support_form", "on the phone then") == []
    assert lexicon.spot("support_form", "on the phone then", answer=True) == [(0, 12, "phone")]
    assert lexicon.spot("support_form", long, answer=True) == []  # too long to be an answer
    # The lexicon keeps this evidence in the model.
    again = ValueLexicon.from_json(lexicon.to_json(), None)
    assert again.spot("support_form", "maybe someone could help me on the phone later") == []


def normalizer_that_learned(*spans: tuple[str, str, str]):  # type: ignore[no-untyped-def]
    """An EntityValueNormalizer whose lexicon saw each (entity, text, value) three times."""
    from bot.nlu.components import EntityValueNormalizer
    from bot.nlu.values import ValueLexicon

    lexicon = ValueLexicon()
    for _ in range(3):
        for entity, text, value in spans:
            lexicon.learn(entity, text, value)
    return EntityValueNormalizer(lexicon, None, None)  # type: ignore[arg-type]


def test_a_learned_form_phrase_wins_over_a_shorter_device_guess_inside_it():
    from rasa.shared.nlu.training_data.message import Message

    normalizer = normalizer_that_learned(
        ("support_form", "by phone", "phone"),
        ("topic", "phone", "smartphone"),
        ("topic", "email", "email"),
    )
    text = "by phone is better, for my email"
    guessed = [
        {"entity": "topic", "start": 3, "end": 8, "value": "smartphone"},  # "phone"
        {"entity": "topic", "start": 27, "end": 32, "value": "email"},
    ]
    [message] = normalizer.process([Message(data={"text": text, "entities": guessed})])
    found = [
        (e["entity"], e["value"], text[e["start"] : e["end"]]) for e in message.get("entities")
    ]
    assert found == [("support_form", "phone", "by phone"), ("topic", "email", "email")]
    # A device named alone stays a device.
    [alone] = normalizer.process(
        [
            Message(
                data={
                    "text": "my phone",
                    "entities": [{"entity": "topic", "start": 3, "end": 8, "value": "smartphone"}],
                }
            )
        ]
    )
    assert [e["value"] for e in alone.get("entities")] == ["smartphone"]


def test_a_course_word_gives_its_topic():
    from rasa.shared.nlu.training_data.message import Message

    normalizer = normalizer_that_learned(
        ("topic", "dator", "computer"),
        ("topic", "tietokone", "computer"),
        ("support_form", "online", "remote"),
    )

    def entities(text: str, *spans: tuple[str, str, str]) -> list[tuple[str, str, str]]:
        given = [
            {"entity": e, "start": text.index(w), "end": text.index(w) + len(w), "value": v}
            for e, w, v in spans
        ]
        [message] = normalizer.process([Message(data={"text": text, "entities": given})])
        return [
            (e["entity"], e["value"], text[e["start"] : e["end"]]) for e in message.get("entities")
        ]

    found = entities("finns det nån datorkurs", ("support_form", "datorkurs", "training"))
    assert sorted(found) == [
        ("support_form", "training", "datorkurs"),
        ("topic", "computer", "dator"),
    ]
    found = entities("onko tietokonekursseja", ("support_form", "tietokonekursseja", "training"))
    assert ("topic", "computer", "tietokone") in found
    assert entities("any course here", ("support_form", "course", "training")) == [
        ("support_form", "training", "course")
    ]  # nothing before the course word
    assert entities("online") == [("support_form", "remote", "online")]


def test_form_phrases_are_spotted_in_long_messages_too():
    from rasa.shared.nlu.training_data.message import Message

    normalizer = normalizer_that_learned(
        ("support_form", "face to face", "in_person"),
        ("language", "finnish", "fi"),
    )
    text = "i need help with my tablet in Oulu, face to face, and in finnish please"
    [message] = normalizer.process([Message(data={"text": text, "entities": []})])
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [
        ("support_form", "in_person"),
        ("language", "fi"),
    ]


def test_a_spotted_course_phrase_gives_its_topic():
    from rasa.shared.nlu.training_data.message import Message

    normalizer = normalizer_that_learned(
        ("support_form", "computer course", "training"),
        ("topic", "computer", "computer"),
    )
    [message] = normalizer.process(
        [Message(data={"text": "computer course in Joensuu", "entities": []})]
    )
    assert sorted((e["entity"], e["value"]) for e in message.get("entities")) == [
        ("support_form", "training"),
        ("topic", "computer"),
    ]


def test_an_impure_form_phrase_in_a_short_message_is_only_an_answer():
    from rasa.shared.nlu.training_data.message import Message

    def forms(normalizer, text: str) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
        [message] = normalizer.process([Message(data={"text": text, "entities": []})])
        return [(e["value"], e.get("role")) for e in message.get("entities")]

    pure = normalizer_that_learned(("support_form", "online", "remote"))
    assert forms(pure, "online please") == [("remote", None)]
    impure = normalizer_that_learned(("support_form", "online", "remote"))
    for _ in range(4):  # "online" is said of services more often than asked for
        impure._lexicon.count_occurrences("support_form", "my bank does not work online", [])
    # The form slot's mapping takes role "answer" only while the form is asked for.
    assert forms(impure, "online is fine for me") == [("remote", "answer")]
    assert forms(impure, "is the bank online") == [("remote", "answer")]
    assert forms(impure, "my bank app is not working online and i dont know why") == []


def test_asking_to_change_language_takes_the_one_language_named_in_a_long_message():
    from rasa.shared.nlu.training_data.message import Message

    normalizer = normalizer_that_learned(
        ("language", "finnish", "fi"), ("language", "swedish", "sv")
    )
    for _ in range(4):  # "my finnish is bad": the words are often no request
        normalizer._lexicon.count_occurrences("language", "my finnish is very bad", [])
        normalizer._lexicon.count_occurrences("language", "my swedish is very bad", [])
    text = "can we talk in finnish? i want to practise it a little"

    def languages(text: str, intent: str) -> list[str]:
        data = {"text": text, "entities": [], "intent": {"name": intent, "confidence": 0.9}}
        [message] = normalizer.process([Message(data=data)])
        return [e["value"] for e in message.get("entities") if e["entity"] == "language"]

    assert languages(text, "change_language") == ["fi"]
    assert languages(text, "request_support") == []  # too long to be an answer, and impure
    two = "my finnish is bad and my swedish too, can we talk in some other way please"
    assert languages(two, "change_language") == []  # two languages: which one is not clear
