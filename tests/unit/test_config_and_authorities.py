from __future__ import annotations

from pathlib import Path

import pytest

from bot import vocab
from bot.authorities import AuthorityDataError, load_authorities
from bot.config import DEFAULT_DATA_DIR, ConfigError, Settings, load_settings


def test_defaults_use_embedded_sqlite() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert settings.database_url == "sqlite:///digituki.db"
    assert settings.gazetteer_dir == DEFAULT_DATA_DIR / "geo"


def test_environment_overrides_and_bad_values() -> None:
    settings = load_settings(
        {"DIGITUKI_DATABASE_URL": "postgresql://x/y", "DIGITUKI_WEB_PORT": "9000"}
    )
    assert settings.database_url == "postgresql://x/y" and settings.web_port == 9000
    with pytest.raises(ConfigError, match="DIGITUKI_WEB_PORT='eighty'"):
        load_settings({"DIGITUKI_WEB_PORT": "eighty"})


def test_every_authority_topic_has_its_own_channel() -> None:
    authorities = load_authorities(DEFAULT_DATA_DIR / "authorities.yml")
    assert set(authorities) == set(vocab.AUTHORITY_TOPICS) | {"identification"}
    assert authorities["kela"].website == "https://www.kela.fi"
    assert authorities["tax"].name_in("sv") == "Skatteförvaltningen"
    for authority in authorities.values():
        assert all(authority.service[lang] for lang in ("fi", "sv", "en"))


def test_incomplete_authority_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "authorities.yml"
    path.write_text("kela: {name: {fi: Kela}, service: {fi: x}, website: https://www.kela.fi}\n")
    with pytest.raises(AuthorityDataError, match="missing topics"):
        load_authorities(path)
