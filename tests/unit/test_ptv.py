"""The PTV importer on small synthetic documents: reading, mapping, hours, places, areas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import DEFAULT_DATA_DIR
from bot.geo import Gazetteer, haversine_km
from bot.providers.files import ProviderFileError
from bot.providers.model import Provider, ServiceArea
from bot.providers.opening_hours import parse_opening_hours
from bot.providers.ptv import (
    MappingError,
    PtvMapping,
    PtvResult,
    convert_ptv,
    load_mapping,
    read_ptv_input,
)
from bot.providers.ptv.documents import PtvDocuments, PtvItem
from bot.providers.ptv.hours import convert_service_hours
from bot.providers.ptv.mapping import parse_mapping
from bot.providers.repository import InMemoryProviderRepository
from tests.ptv_samples import (
    MAPPING_YAML,
    address,
    guid,
    location,
    texts,
    weekly,
    write_json,
)

TODAY = dt.date(2026, 3, 16)  # a Monday


@pytest.fixture(scope="module")
def mapping(gazetteer: Gazetteer) -> PtvMapping:
    return parse_mapping(yaml.safe_load(MAPPING_YAML), gazetteer)


def convert(
    gazetteer: Gazetteer, mapping: PtvMapping, *channels: dict[str, Any], services: tuple = ()
) -> PtvResult:
    documents = PtvDocuments(
        channels=[PtvItem(f"test item {n}", c) for n, c in enumerate(channels, 1)],
        services=[PtvItem(f"service {n}", s) for n, s in enumerate(services, 1)],
    )
    return convert_ptv(documents, mapping, gazetteer, today=TODAY)


def one(gazetteer: Gazetteer, mapping: PtvMapping, channel: dict[str, Any]) -> Provider:
    result = convert(gazetteer, mapping, channel)
    assert not result.errors, [str(e) for e in result.errors]
    assert len(result.providers) == 1, result.unmapped
    return result.providers[0]


def warnings_of(result: PtvResult) -> list[str]:
    return [str(w) for w in result.warnings]


# --- reading documents ---------------------------------------------------------------


def test_single_channel_array_and_paged_list_are_read(tmp_path: Path):
    write_json(tmp_path / "a-single.json", location())
    write_json(tmp_path / "b-array.json", [location(id=guid("2")), location(id=guid("3"))])
    write_json(
        tmp_path / "c-page.json",
        {"pageNumber": 1, "pageSize": 2, "pageCount": 1, "itemList": [location(id=guid("4"))]},
    )
    write_json(tmp_path / "d-empty-page.json", {"pageNumber": 1, "pageCount": 0, "itemList": None})
    (tmp_path / "notes.txt").write_text("not read")
    documents = read_ptv_input(tmp_path)
    assert [c.data["id"] for c in documents.channels] == [guid(d) for d in "1234"]
    assert documents.channels[1].origin == "b-array.json item 1"
    assert read_ptv_input(tmp_path / "a-single.json").channels[0].data["id"] == guid("1")


def test_services_in_the_input_are_kept_apart_from_channels(tmp_path: Path):
    service = {"id": guid("5"), "serviceNames": texts(fi="Digituki"), "serviceChannels": []}
    documents = read_ptv_input(write_json(tmp_path / "mixed.json", [location(), service]))
    assert len(documents.channels) == 1 and len(documents.services) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "x",', "broken.json: not valid JSON: Expecting property name"),
        ("", "broken.json: the file is empty"),
        ("42", "broken.json: not a PTV document"),
        ('{"itemList": {"id": 1}}', "broken.json: itemList is not a list"),
        ('[{"id": "a"}, "text"]', "broken.json item 2: not an object"),
        ('{"itemList": [{"id": "a", "name": "b"}]}', "page of ids (GUID page)"),
        ('[{"id": "a", "title": "b"}]', "not a PTV service channel (no serviceChannelType)"),
    ],
)
def test_malformed_documents_are_refused_with_a_clear_reason(
    tmp_path: Path, content: str, message: str
):
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ProviderFileError) as caught:
        read_ptv_input(path)
    assert message in str(caught.value)


def test_invalid_json_names_line_and_column(tmp_path: Path):
    path = tmp_path / "page.json"
    path.write_text('{\n  "itemList": [\n    {"id": "a",}\n  ]\n}', encoding="utf-8")
    with pytest.raises(ProviderFileError, match=r"page.json: not valid JSON: .* line 3, column"):
        read_ptv_input(path)


def test_unreadable_inputs_are_refused(tmp_path: Path):
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"name": "Närpiö"}'.encode("latin-1"))
    with pytest.raises(ProviderFileError, match="not UTF-8"):
        read_ptv_input(latin1)
    with pytest.raises(ProviderFileError, match="no such file or folder"):
        read_ptv_input(tmp_path / "missing.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ProviderFileError, match=r"no \*.json files"):
        read_ptv_input(empty)


# --- names, texts, contacts ----------------------------------------------------------


def test_a_location_maps_to_a_provider_with_every_field(gazetteer, mapping):
    provider = one(gazetteer, mapping, location())
    assert provider.id == f"ptv-{guid('1')}" and provider.source == "ptv" and provider.active
    assert (provider.name_fi, provider.name_sv, provider.name_en) == (
        "Digitukipiste Testilä",
        "Digistöd Testby",
        None,
    )
    assert provider.description_fi == "Apua laitteiden kanssa."  # the summary, not the long one
    assert provider.street_address == "Esimerkkikatu 5 B" and provider.postal_code == "90100"
    assert provider.municipality_code == "564" and not provider.location_is_municipality_centre
    assert provider.topics == {"basics"} and provider.support_forms == {"in_person"}
    assert provider.languages == {"fi", "sv"} and provider.target_groups == {"everyone"}
    assert provider.phone == "+358 000000001"  # the trunk 0 goes after a country code
    assert provider.email == "tuki@example.org" and provider.website == "https://example.org/tuki"
    assert provider.service_areas == {ServiceArea("municipality", "564")}
    assert (provider.organisation, provider.org_type) == ("Testiyhdistys ry", "association")
    assert provider.opening_hours is None and provider.booking_required is None


def test_display_name_type_chooses_the_alternative_name(gazetteer, mapping):
    names = [
        {"language": "fi", "value": "Digitukipiste Testilä", "type": "Name"},
        {"language": "fi", "value": "Testilän digituki", "type": "AlternativeName"},
        {"language": "en", "value": "Digital support Testila", "type": "Name"},
    ]
    provider = one(
        gazetteer,
        mapping,
        location(
            serviceChannelNames=names,
            displayNameType=[
                {"type": "AlternativeName", "language": "fi"},
                {"type": "AlternativeName", "language": "en"},  # none in English: the name
            ],
        ),
    )
    assert provider.name_fi == "Testilän digituki"
    assert provider.name_en == "Digital support Testila"


def test_the_description_is_used_when_there_is_no_summary(gazetteer, mapping):
    descriptions = [{"language": "sv", "value": "Lång beskrivning.", "type": "Description"}]
    provider = one(gazetteer, mapping, location(serviceChannelDescriptions=descriptions))
    assert provider.description_sv == "Lång beskrivning." and provider.description_fi is None


def test_a_channel_without_a_finnish_name_shows_another(gazetteer, mapping):
    result = convert(gazetteer, mapping, location(serviceChannelNames=texts(sv="Digistöd Testby")))
    assert result.providers[0].name_fi == "Digistöd Testby"
    assert "no Finnish name: 'Digistöd Testby' is shown instead" in warnings_of(result)[0]


def test_a_channel_without_any_name_is_an_error(gazetteer, mapping):
    result = convert(
        gazetteer,
        mapping,
        location(
            id=guid("9"),  # listed in the mapping, so it is mapped without a name to match
            serviceChannelNames=[{"language": "de", "value": "Digitalhilfe", "type": "Name"}],
        ),
    )
    assert not result.providers
    assert [str(e) for e in result.errors] == [
        f"channel {guid('9')}: serviceChannelNames: no name in Finnish, Swedish or English"
    ]


def test_contacts_skip_fax_and_bad_values_and_read_support_fields(gazetteer, mapping):
    result = convert(
        gazetteer,
        mapping,
        location(
            phoneNumbers=[
                {"type": "Fax", "prefixNumber": "+358", "number": "000000009"},
                {"type": "Phone", "prefixNumber": "", "number": "soita meille"},
            ],
            supportPhones=[{"prefixNumber": "+358", "number": "0000 000 0002"}],
            emails=[{"value": "ei-osoite", "language": "fi"}],
            supportEmails=[{"value": "apu@example.org", "language": "fi"}],
            webPages=[
                {"url": "https://example.org/toinen", "orderNumber": 2},
                {"url": "example.org/ilman-protokollaa", "orderNumber": 0},
                {"url": "https://example.org/ensin", "orderNumber": 1},
            ],
        ),
    )
    provider = result.providers[0]
    assert provider.phone == "+358 000 000 0002"
    assert provider.email == "apu@example.org"
    assert provider.website == "https://example.org/ensin"
    found = warnings_of(result)
    assert any("phoneNumbers: 'soita meille' is not a phone number" in w for w in found)
    assert any("email: 'ei-osoite' is not an e-mail address" in w for w in found)
    assert any("'example.org/ilman-protokollaa' is not a web address" in w for w in found)


def test_languages_outside_our_list_are_left_out_and_none_means_the_names(gazetteer, mapping):
    result = convert(gazetteer, mapping, location(languages=["fi", "xx", "SV"]))
    assert result.providers[0].languages == {"fi", "sv"}
    assert "not in our language list, left out: xx" in warnings_of(result)[0]
    result = convert(gazetteer, mapping, location(languages=[]))
    assert result.providers[0].languages == {"fi", "sv"}  # its names are in Finnish and Swedish
    assert "none given: assuming fi, sv from its names" in warnings_of(result)[0]


def test_long_names_are_cut_with_a_warning(gazetteer, mapping):
    long_name = "Digitukipiste " + "pitkä " * 80
    result = convert(gazetteer, mapping, location(serviceChannelNames=texts(fi=long_name)))
    assert len(result.providers[0].name_fi) == 300
    assert "name_fi: longer than 300 characters: cut" in warnings_of(result)[0]


# --- coordinates and places ----------------------------------------------------------


@pytest.mark.parametrize("state", ["Ok", "EnteredByUser"])
def test_trusted_coordinates_are_converted_from_tm35fin(gazetteer, mapping, state):
    provider = one(gazetteer, mapping, location(addresses=[address(state=state)]))
    oulu = gazetteer.municipality("Oulu")
    # latitude is the northing and longitude the easting: swapped, the point leaves Finland.
    assert haversine_km(provider.lat, provider.lon, oulu.lat, oulu.lon) < 0.3
    assert not provider.location_is_municipality_centre


@pytest.mark.parametrize(
    ("state", "easting", "northing"),
    [
        ("NotReceived", "0", "0"),
        ("Failed", "427800", "7210700"),
        ("MultipleResultsReceived", "427800", "7210700"),
        ("", "427800", "7210700"),
    ],
)
def test_untrusted_coordinates_fall_back_to_the_centre_with_a_warning(
    gazetteer, mapping, state, easting, northing
):
    result = convert(
        gazetteer,
        mapping,
        location(addresses=[address(state=state, easting=easting, northing=northing)]),
    )
    provider = result.providers[0]
    oulu = gazetteer.municipality("Oulu")
    assert (provider.lat, provider.lon) == (oulu.lat, oulu.lon)
    assert provider.location_is_municipality_centre
    assert provider.street_address == "Esimerkkikatu 5 B"  # the address itself still holds
    assert warnings_of(result) == [
        f"channel {guid('1')} (Digitukipiste Testilä): coordinates: coordinateState is "
        f"{state or 'missing'}: using the centre of Oulu (no postal-code places in our data)"
    ]


def test_swapped_or_foreign_coordinates_are_not_trusted(gazetteer, mapping):
    swapped = address(easting="7210700", northing="427800")
    result = convert(gazetteer, mapping, location(addresses=[swapped]))
    assert result.providers[0].location_is_municipality_centre
    assert "is outside Finland: using the centre of Oulu" in warnings_of(result)[0]


def test_an_unknown_municipality_code_is_placed_by_its_coordinates(gazetteer, mapping):
    result = convert(gazetteer, mapping, location(addresses=[address(code="999")], areas=[]))
    provider = result.providers[0]
    assert provider.municipality_code == "564"
    assert (
        "unknown municipality code '999': placed in Oulu by its coordinates"
        in (warnings_of(result)[0])
    )


def test_an_unplaceable_channel_is_an_error(gazetteer, mapping):
    result = convert(
        gazetteer,
        mapping,
        location(
            organizationId=guid("6"),
            addresses=[address(code="999", state="NotReceived")],
            areaType="Nationwide",
        ),
    )
    assert not result.providers
    assert "cannot place it (give its organisation a municipality" in str(result.errors[0])


def test_municipality_codes_without_leading_zeros_are_read(gazetteer, mapping):
    helsinki = address(code="91", state="NotReceived")
    provider = one(gazetteer, mapping, location(addresses=[helsinki], areas=[]))
    assert provider.municipality_code == "091"


def test_the_first_visiting_address_is_used_and_postal_addresses_ignored(gazetteer, mapping):
    postal = {"type": "Postal", "subType": "PostOfficeBox", "streetAddress": None}
    second = address(code="905", state="NotReceived")
    result = convert(gazetteer, mapping, location(addresses=[postal, address(), second]))
    assert result.providers[0].municipality_code == "564"
    assert "2 visiting addresses: the first one is used" in warnings_of(result)[0]


def test_a_bad_postal_code_is_left_out(gazetteer, mapping):
    result = convert(gazetteer, mapping, location(addresses=[address(postal_code="9010")]))
    assert result.providers[0].postal_code is None
    assert "'9010' is not a postal code of five digits" in warnings_of(result)[0]


def test_a_phone_channel_without_address_is_placed_in_its_area(gazetteer, mapping):
    phone = location(
        id=guid("2"),
        serviceChannelType="Phone",
        addresses=None,
        phoneNumbers=None,
        supportPhones=[{"prefixNumber": "+358", "number": "0000000003", "language": "fi"}],
        areas=[{"type": "Municipality", "municipalities": [{"code": "905"}, {"code": "564"}]}],
    )
    result = convert(gazetteer, mapping, phone)
    provider = result.providers[0]
    assert provider.support_forms == {"phone"} and provider.phone == "+358 000000003"
    assert provider.municipality_code == "564" and provider.location_is_municipality_centre
    assert provider.street_address is None and not result.warnings


def test_a_nationwide_channel_without_address_uses_its_organisation(gazetteer, mapping):
    phone = location(id=guid("2"), serviceChannelType="Phone", addresses=[], areaType="Nationwide")
    provider = one(gazetteer, mapping, phone)
    assert provider.municipality_code == "905"  # Vaasa, from the mapping's organisation
    assert provider.service_areas == {ServiceArea("nationwide")}


# --- service areas -------------------------------------------------------------------


@pytest.mark.parametrize("area_type", ["Nationwide", "NationwideExceptAlandIslands"])
def test_nationwide_areas(gazetteer, mapping, area_type):
    provider = one(gazetteer, mapping, location(areaType=area_type))
    assert provider.service_areas == {ServiceArea("nationwide")}


def test_limited_areas_become_regions_and_municipalities(gazetteer, mapping):
    areas = [
        {"type": "Region", "code": "17", "municipalities": [{"code": "564"}]},
        {"type": "Municipality", "code": None, "municipalities": [{"code": "91"}]},
        {"type": "HospitalDistrict", "code": "99", "municipalities": [{"code": "905"}]},
        {"type": "Municipality", "municipalities": [{"code": "1"}]},
    ]
    result = convert(gazetteer, mapping, location(areas=areas))
    assert result.providers[0].service_areas == {
        ServiceArea("region", "17"),
        ServiceArea("municipality", "091"),
        ServiceArea("municipality", "905"),
    }
    assert "areas: unknown municipality codes left out: 001" in warnings_of(result)[0]


def test_area_municipalities_serve_when_areas_are_absent(gazetteer, mapping):
    channel = location(areas=None, areaMunicipalities=[{"code": "564"}, {"code": "905"}])
    provider = one(gazetteer, mapping, channel)
    assert {str(a) for a in provider.service_areas} == {"municipality:564", "municipality:905"}


# --- the mapping ---------------------------------------------------------------------


def test_keywords_match_per_language_and_in_service_names(gazetteer, mapping):
    plain = texts(fi="Kirjasto", sv="Bibliotek")
    described = location(
        serviceChannelNames=plain,
        serviceChannelDescriptions=[
            {"language": "sv", "value": "Vi erbjuder digistöd.", "type": "Summary"}
        ],
    )
    assert one(gazetteer, mapping, described).topics == {"basics"}
    # A Swedish keyword in a Finnish text does not count...
    wrong_language = location(
        serviceChannelNames=plain,
        serviceChannelDescriptions=[{"language": "fi", "value": "digistöd", "type": "Summary"}],
    )
    assert convert(gazetteer, mapping, wrong_language).unmapped
    # ...but connected services' names have no language and are searched with every keyword.
    linked = location(
        serviceChannelNames=plain,
        serviceChannelDescriptions=[],
        services=[{"service": {"id": guid("5"), "name": "Digital support for all"}}],
    )
    assert one(gazetteer, mapping, linked).topics == {"basics"}


def test_ontology_terms_and_service_classes_map_topics(gazetteer, mapping):
    plain = texts(fi="Kirjasto")
    by_term = location(
        serviceChannelNames=plain,
        serviceChannelDescriptions=[],
        ontologyTerms=[{"uri": "http://example.org/onto/DIGI-HELP", "code": "x"}],
    )
    assert one(gazetteer, mapping, by_term).topics == {"smartphone"}
    service = {
        "id": guid("5"),
        "serviceNames": texts(fi="Laitepalvelu"),
        "serviceClasses": [{"uri": "http://example.org/class/digi", "code": "D1"}],
        "serviceChannels": [{"serviceChannel": {"id": guid("1").upper(), "name": "x"}}],
    }
    channel = location(serviceChannelNames=plain, serviceChannelDescriptions=[])
    assert convert(gazetteer, mapping, channel).unmapped  # alone, nothing says digital support
    result = convert(gazetteer, mapping, channel, services=(service,))
    assert result.providers[0].topics == {"computer"}


def test_details_add_forms_topics_and_groups_only_to_mapped_channels(gazetteer, mapping):
    course = [
        {"language": "fi", "value": "Digituen kurssi senioreille.", "type": "Summary"},
        {"language": "en", "value": "Ask us in the chat.", "type": "Summary"},
    ]
    provider = one(gazetteer, mapping, location(serviceChannelDescriptions=course))
    assert provider.support_forms == {"in_person", "training", "chat"}
    assert provider.topics == {"basics", "email"} and provider.target_groups == {"seniors"}
    not_support = location(
        serviceChannelNames=texts(fi="Uimahalli"),
        serviceChannelDescriptions=[{"language": "fi", "value": "Kurssi", "type": "Summary"}],
    )
    result = convert(gazetteer, mapping, not_support)
    assert not result.providers
    assert [str(u) for u in result.unmapped] == [f"{guid('1')} Uimahalli"]


def test_a_type_without_forms_needs_a_rule_that_gives_one(gazetteer, mapping):
    service = location(id=guid("3"), serviceChannelType="EChannel", addresses=[])
    assert convert(gazetteer, mapping, service).unmapped  # EChannel: [] and no form
    chat = [{"language": "en", "value": "Digital support chat", "type": "Summary"}]
    provider = one(gazetteer, mapping, {**service, "serviceChannelDescriptions": chat})
    assert provider.support_forms == {"chat"}


def test_listed_excluded_skipped_and_unpublished_channels(gazetteer, mapping):
    result = convert(
        gazetteer,
        mapping,
        location(id=guid("9"), serviceChannelNames=texts(fi="Kotipalvelu")),
        location(id=guid("8")),
        location(id=guid("2"), serviceChannelType="WebPage"),
        location(id=guid("3"), serviceChannelType="PrintableForm"),
        location(id=guid("4"), publishingStatus="Deleted"),
    )
    assert [p.id for p in result.providers] == [f"ptv-{guid('9')}"]
    listed = result.providers[0]
    assert listed.topics == {"tablet"} and listed.support_forms == {"home_visit"}
    assert result.excluded == 1 and result.not_published == 1
    assert dict(result.other_types) == {"WebPage": 1, "PrintableForm": 1}
    assert not result.unmapped


def test_repeated_channels_are_read_once_and_the_newest_copy_wins(gazetteer, mapping):
    old = location(modified="2026-01-01T00:00:00", languages=["fi"])
    new = location(modified="2026-02-01T00:00:00", languages=["sv"])
    result = convert(gazetteer, mapping, location(), location())
    assert len(result.providers) == 1 and not result.warnings
    result = convert(gazetteer, mapping, new, old)
    assert result.providers[0].languages == {"sv"}
    assert (
        "given twice with different content (test item 1, test item 2): using the one "
        in (warnings_of(result)[0])
    )


def test_a_channel_without_a_guid_is_an_error(gazetteer, mapping):
    result = convert(gazetteer, mapping, location(id="not-a-guid"), location(id=None))
    assert [str(e) for e in result.errors] == [
        "test item 1: id: 'not-a-guid' is not a PTV id (a GUID)",
        "test item 2: id: None is not a PTV id (a GUID)",
    ]


def test_the_shipped_mapping_loads_and_finds_digital_support(gazetteer):
    shipped = load_mapping(DEFAULT_DATA_DIR / "ptv_mapping.yml", gazetteer)
    library = location(
        serviceChannelNames=texts(fi="Testilän kirjasto"),
        organizationId=guid("6"),
        serviceChannelDescriptions=[
            {
                "language": "fi",
                "value": "Kirjaston digituessa opastetaan älypuhelimen ja OmaKannan käytössä.",
                "type": "Summary",
            }
        ],
    )
    provider = one(gazetteer, shipped, library)
    assert provider.topics == {"basics", "smartphone", "health"}
    assert provider.support_forms == {"in_person"} and provider.org_type == "other"
    school = location(
        serviceChannelNames=texts(fi="Testilän koulu"),
        serviceChannelDescriptions=[
            {"language": "fi", "value": "Perusopetusta ja kursseja.", "type": "Summary"}
        ],
    )
    assert convert(gazetteer, shipped, school).unmapped


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"rules": [{"keywords": {"fi": ["x"]}, "topics": ["tv"]}]},
            "rules[1].topics: unknown 'tv'",
        ),
        ({"rules": [{"topics": ["basics"]}]}, "rules[1]: matches nothing"),
        ({"rules": [{"keywords": {"fi": ["x"]}}]}, "rules[1]: give the topics it maps to"),
        ({"rules": [{"keywords": {"de": ["x"]}, "topics": ["basics"]}]}, "use fi, sv or en"),
        ({"rules": [{"keywords": {"fi": [""]}, "topics": ["basics"]}]}, "would match everything"),
        ({"rules": [{"keywords": {"fi": ["x"]}, "topics": ["basics"], "colour": 1}]}, "colour"),
        ({"channel_types": {"Letter": ["in_person"]}}, "channel_types: unknown type Letter"),
        ({"channel_types": {"Phone": ["remote"]}}, "channel_types.Phone: unknown 'remote'"),
        ({"exclude": ["123"]}, "exclude: '123' is not a PTV id"),
        ({"organisations": {guid("7"): {"municipality": "Atlantis"}}}, "unknown municipality"),
        ({"organisations": {guid("7"): {"type": "club"}}}, "'club' is not one of"),
        ({"version": 2}, "version 2 is not supported"),
        ({"extra": 1}, "the file: unknown key extra"),
    ],
)
def test_mapping_mistakes_are_named(gazetteer, change, message):
    document = {**yaml.safe_load(MAPPING_YAML), **change}
    with pytest.raises(MappingError) as caught:
        parse_mapping(document, gazetteer)
    assert message in str(caught.value)


def test_an_unreadable_mapping_file_is_named(tmp_path: Path, gazetteer):
    with pytest.raises(MappingError, match="no such file"):
        load_mapping(tmp_path / "missing.yml", gazetteer)
    broken = tmp_path / "broken.yml"
    broken.write_text("rules: [unclosed", encoding="utf-8")
    with pytest.raises(MappingError, match="broken.yml: not a readable YAML file"):
        load_mapping(broken, gazetteer)


# --- opening hours -------------------------------------------------------------------


def hours(*entries: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    converted = convert_service_hours(list(entries), TODAY)
    if converted.text is not None:
        parse_opening_hours(converted.text)  # always in the subset our parser accepts
    return converted.text, converted.notes


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [(d, "08:00:00", "16:00:00") for d in ("Monday", "Tuesday", "Wednesday", "Thursday")]
            + [("Friday", "08:00:00", "14:00:00")],
            "Mo-Th 08:00-16:00; Fr 08:00-14:00",
        ),
        (
            [
                ("Monday", "09:00", "11:00"),
                ("Monday", "12:00", "15:30"),
                ("Wednesday", "09:00", "11:00"),
                ("Wednesday", "12:00", "15:30"),
            ],
            "Mo,We 09:00-11:00,12:00-15:30",
        ),
        ([("Saturday", "10:00:00", "00:00:00")], "Sa 10:00-24:00"),
        ([("Friday>Saturday", "22:00:00", "02:00:00")], "Fr 22:00-02:00"),
        (
            [("Monday>Wednesday", "08:00:00", "16:00:00")],
            "Mo 08:00-24:00; Tu 00:00-24:00; We 00:00-16:00",
        ),
        (
            [
                (d, "00:00", "00:00")
                for d in (
                    "Monday",
                    "Tuesday",
                    "Wednesday",
                    "Thursday",
                    "Friday",
                    "Saturday",
                    "Sunday",
                )
            ],
            "24/7",
        ),
    ],
)
def test_weekly_hours(rows, expected):
    text, notes = hours(weekly(*rows))
    assert (text, notes) == (expected, ())


def test_days_not_listed_are_closed_and_over_midnight_hours_carry_on():
    text, _ = hours(weekly(("Friday>Saturday", "22:00", "02:00"), ("Tuesday", "10:00", "12:00")))
    parsed = parse_opening_hours(text or "")
    assert parsed.is_open(dt.datetime(2026, 3, 21, 1, 30))  # Saturday night
    assert not parsed.is_open(dt.datetime(2026, 3, 22, 11, 0))  # Sunday
    assert parsed.is_open(dt.datetime(2026, 3, 17, 11, 0))  # Tuesday


def test_always_open_and_closed_entries():
    assert hours(weekly(isAlwaysOpen=True)) == ("24/7", ())
    assert hours(weekly(isClosed=True)) == ("off", ())
    closed = parse_opening_hours("off")
    assert not closed.is_open(dt.datetime(2026, 3, 16, 12, 0))


def test_only_the_weekly_hours_in_force_today_are_used():
    summer = weekly(
        ("Monday", "10:00", "14:00"), validFrom="2026-06-01T00:00:00", validTo="2026-08-31T00:00:00"
    )
    winter = weekly(
        ("Monday", "09:00", "17:00"), validFrom="2025-09-01T00:00:00", validTo="2026-05-31T00:00:00"
    )
    last_year = weekly(("Monday", "08:00", "12:00"), validTo="2025-05-31T00:00:00")
    text, notes = hours(summer, winter, last_year)
    assert text == "Mo 09:00-17:00"
    assert notes == (
        "weekly hours valid from 2026-06-01 are not in force yet: left out (import again then)",
    )


def test_hours_for_a_period_stand_in_for_the_usual_ones():
    usual = weekly(("Monday", "09:00", "16:00"), orderNumber=1)
    repairs = weekly(
        isClosed=True, validFrom="2026-03-01T00:00:00", validTo="2026-04-30T00:00:00", orderNumber=2
    )
    text, notes = hours(usual, repairs)
    assert text == "off" and len(notes) == 1 and "overlap the first ones" in notes[0]
    spring = weekly(
        ("Monday", "10:00", "12:00"), validFrom="2026-03-01", validTo="2026-03-31", orderNumber=2
    )
    assert hours(usual, spring)[0] == "Mo 10:00-12:00"


def test_weekly_entries_on_different_days_merge_and_overlapping_ones_are_noted():
    weekdays = weekly(("Monday", "09:00", "16:00"), orderNumber=1)
    saturday = weekly(("Saturday", "10:00", "14:00"), orderNumber=2)
    self_service = weekly(
        ("Monday", "07:00", "21:00"),
        orderNumber=3,
        additionalInformation=[{"value": "Omatoimiaika", "language": "fi"}],
    )
    text, notes = hours(self_service, saturday, weekdays)
    assert text == "Mo 09:00-16:00; Sa 10:00-14:00"
    assert notes == (
        "further weekly hours 'Omatoimiaika' overlap the first ones: left out "
        "(one opening_hours string holds one weekly schedule)",
    )


def test_dated_exceptions_to_come_follow_the_week_and_past_ones_are_dropped():
    closed = {"serviceHourType": "Exceptional", "isClosed": True, "openingHour": []}
    short_day = {
        "serviceHourType": "Exceptional",
        "validFrom": "2026-12-31T00:00:00",
        "openingHour": [{"dayFrom": "Thursday", "from": "09:00", "to": "12:00"}],
    }
    text, notes = hours(
        weekly(("Monday", "09:00", "16:00")),
        {**closed, "validFrom": "2026-12-24T00:00:00", "validTo": "2026-12-26T00:00:00"},
        short_day,
        {**closed, "validFrom": "2026-04-03T00:00:00", "validTo": None},
        {**closed, "validFrom": "2025-12-24T00:00:00", "validTo": "2025-12-26T00:00:00"},
    )
    assert text == (
        "Mo 09:00-16:00; 2026 Apr 03 off; 2026 Dec 24-2026 Dec 26 off; 2026 Dec 31 09:00-12:00"
    )
    assert notes == ()
    parsed = parse_opening_hours(text)
    assert not parsed.is_open(dt.datetime(2026, 12, 31, 13, 0))
    assert parsed.is_open(dt.datetime(2026, 12, 31, 11, 0))  # a Thursday, by the exception


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("Moonday", "09:00", "16:00"), "unknown day 'Moonday'"),
        (("Monday", "9", "16:00"), "unknown time '9'"),
        (("Monday", "09:00", "25:00"), "unknown time '25:00'"),
    ],
)
def test_unreadable_hours_are_noted_not_raised(row, reason):
    text, notes = hours(weekly(row))
    assert text is None
    assert notes == (f"weekly hours unreadable ({reason}): left out",)


def test_unknown_hour_types_are_noted_and_reservations_flagged(gazetteer, mapping):
    text, notes = hours({"serviceHourType": "Lunar", "openingHour": []})
    assert text is None and "service hours of type Lunar are not understood" in notes[0]
    by_appointment = weekly(("Tuesday", "10:00", "12:00"), isReservation=True)
    provider = one(gazetteer, mapping, location(serviceHours=[by_appointment]))
    assert provider.opening_hours == "Tu 10:00-12:00" and provider.booking_required is True


def test_hours_notes_become_warnings_naming_the_channel(gazetteer, mapping):
    exception = {"serviceHourType": "Exceptional", "validFrom": "2026-12-24T00:00:00"}
    result = convert(
        gazetteer, mapping, location(serviceHours=[weekly(("Monday", "09:00", "16:00")), exception])
    )
    assert warnings_of(result)[0].startswith(
        f"channel {guid('1')} (Digitukipiste Testilä): serviceHours: exception on 2026-12-24 names no hours"
    )


# --- keeping a source in sync (the in-memory repository) ----------------------------------


def test_sync_source_writes_only_changes_and_deactivates_the_missing(gazetteer, mapping):
    first = convert(
        gazetteer, mapping, location(), location(id=guid("2")), location(id=guid("3"))
    ).providers
    manual = one(gazetteer, mapping, location(id=guid("4")))
    repository = InMemoryProviderRepository([Provider(**{**manual.__dict__, "source": "import"})])
    counts = repository.sync_source("ptv", first, full=True)
    assert (counts.created, counts.updated, counts.unchanged, counts.deactivated) == (3, 0, 0, 0)
    assert repository.sync_source("ptv", first, full=True).unchanged == 3
    changed = [first[0], Provider(**{**first[1].__dict__, "phone": "+358 000000005"})]
    counts = repository.sync_source("ptv", changed, full=True)
    assert (counts.created, counts.updated, counts.unchanged, counts.deactivated) == (0, 1, 1, 1)
    stored = repository.get_many([p.id for p in first] + [manual.id])
    assert not stored[first[2].id].active  # kept, but inactive
    assert stored[manual.id].active  # another source is never touched
    # It comes back when PTV lists it again.
    counts = repository.sync_source("ptv", first)
    assert counts.updated == 2 and repository.get_many([first[2].id])[first[2].id].active


# --- whatever the JSON holds, a warning or an error, never a crash -------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    [
        "serviceChannelNames",
        "displayNameType",
        "serviceChannelDescriptions",
        "areaType",
        "areas",
        "areaMunicipalities",
        "languages",
        "phoneNumbers",
        "supportPhones",
        "emails",
        "webPages",
        "addresses",
        "serviceHours",
        "services",
        "ontologyTerms",
        "organizationId",
        "modified",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    changes=st.dictionaries(FIELDS, JSON_VALUES, max_size=4),
    street=st.dictionaries(
        st.sampled_from(
            [
                "street",
                "streetNumber",
                "postalCode",
                "municipality",
                "latitude",
                "longitude",
                "coordinateState",
            ]
        ),
        JSON_VALUES,
        max_size=3,
    ),
    hours=st.dictionaries(
        st.sampled_from(
            [
                "serviceHourType",
                "validFrom",
                "validTo",
                "isAlwaysOpen",
                "orderNumber",
                "additionalInformation",
            ]
        ),
        JSON_VALUES,
        max_size=3,
    ),
)
def test_odd_field_values_never_crash_the_import(gazetteer, mapping, changes, street, hours):
    odd_address = address()
    odd_address["streetAddress"].update(street)
    entry = {**weekly(("Monday", "09:00", "16:00")), **hours}
    channel = location(addresses=[odd_address], serviceHours=[entry])
    result = convert(gazetteer, mapping, {**channel, **changes})
    for provider in result.providers:
        if provider.opening_hours is not None:
            parse_opening_hours(provider.opening_hours)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "dayFrom": st.sampled_from(["Monday", "Friday", "Sunday", "", "Xday"]),
                "dayTo": st.sampled_from(["", "Tuesday", "Saturday", "Monday"]),
                "from": st.sampled_from(["00:00", "08:00:00", "22:30", "24:00", "7"]),
                "to": st.sampled_from(["00:00:00", "16:00", "02:00", "24:00", "x"]),
            }
        ),
        max_size=6,
    ),
    kind=st.sampled_from(["DaysOfTheWeek", "OverMidnight", "Exceptional", "Other"]),
)
def test_any_opening_hour_rows_give_valid_hours_or_a_note(rows, kind):
    converted = convert_service_hours(
        [{"serviceHourType": kind, "openingHour": rows, "validFrom": "2026-01-01"}], TODAY
    )
    if converted.text is not None:
        parse_opening_hours(converted.text)
    elif rows and kind != "Exceptional":
        assert converted.notes or all(r["dayFrom"] == "" for r in rows)
