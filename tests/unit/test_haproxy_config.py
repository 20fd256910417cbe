"""The local HAProxy configuration is the Compose one with only its servers changed."""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from bot.ops.haproxy import CONFIG_TEMPLATE, Upstream, local_config
from bot.ops.run import ProductionLayout, _haproxy_config

LOCAL = {
    "rasa": [Upstream("rasa-1", "127.0.0.1:5101")],
    "actions": [Upstream("actions-1", "127.0.0.1:5151"), Upstream("actions-2", "127.0.0.1:5152")],
}


def test_only_the_server_lines_change() -> None:
    template = CONFIG_TEMPLATE.read_text().splitlines()
    rendered = local_config(CONFIG_TEMPLATE.read_text(), LOCAL).splitlines()
    assert [line for line in template if not line.strip().startswith("server ")] == [
        line for line in rendered if not line.strip().startswith("server ")
    ]
    servers = [line.split() for line in rendered if line.strip().startswith("server ")]
    assert servers == [
        ["server", "rasa-1", "127.0.0.1:5101", "check"],
        ["server", "actions-1", "127.0.0.1:5151", "check"],
        ["server", "actions-2", "127.0.0.1:5152", "check"],
    ]


def test_a_backend_missing_on_either_side_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'actions' has no local replicas"):
        local_config(CONFIG_TEMPLATE.read_text(), {"rasa": LOCAL["rasa"]})
    with pytest.raises(ConfigError, match="no servers of web"):
        local_config(CONFIG_TEMPLATE.read_text(), {**LOCAL, "web": LOCAL["rasa"]})
    with pytest.raises(ConfigError, match="no replicas for the HAProxy backend"):
        local_config(CONFIG_TEMPLATE.read_text(), {**LOCAL, "rasa": []})


def test_every_replica_of_the_layout_is_a_server_checked_on_its_own_port() -> None:
    layout = ProductionLayout(
        rasa_replicas=(7001, 7002, 7003),
        action_replicas=(7101,),
        side_ports=(7201, 7202, 7203, 7204, 7205),
    )
    servers = [
        line.split()
        for line in _haproxy_config(layout).read_text().splitlines()
        if line.strip().startswith("server ")
    ]
    assert servers == [
        ["server", "rasa-1", "127.0.0.1:7001", "check"],
        ["server", "rasa-2", "127.0.0.1:7002", "check"],
        ["server", "rasa-3", "127.0.0.1:7003", "check"],
        ["server", "actions-1", "127.0.0.1:7101", "check"],
    ]
