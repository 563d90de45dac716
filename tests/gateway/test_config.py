"""SPEC §8: configuration is one typed object; a bad key stops the start, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import config as configuration
from gateway.config import ConfigError

ROOT = Path(__file__).parents[2]


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = configuration.load()
    assert (c.gateway.host, c.gateway.port, c.admin.port) == ("127.0.0.1", 8080, 8081)
    assert c.path(c.repository.path) == tmp_path / "var" / "repository.sqlite"


def test_shipped_config_toml_is_the_defaults():
    shipped = configuration.load(ROOT / "config.toml")
    defaults = configuration.from_dict({}, base_dir=ROOT)
    assert shipped.gateway == defaults.gateway.__class__(
        **{**defaults.gateway.__dict__, "node": shipped.gateway.node}
    )
    for section in ("admin", "repository", "assembler", "appserver", "purge"):
        assert getattr(shipped, section) == getattr(defaults, section), section


def test_relative_paths_are_relative_to_the_config_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.toml").write_text('[repository]\npath = "db/r.sqlite"\n')
    c = configuration.load(tmp_path / "conf" / "config.toml")
    assert c.path(c.repository.path) == tmp_path / "conf" / "db" / "r.sqlite"


@pytest.mark.parametrize(
    "raw,named",
    [
        ({"gateway": {"prot": 1}}, "gateway.prot"),
        ({"gatway": {}}, "[gatway]"),
        ({"gateway": {"port": "80"}}, "gateway.port"),
        ({"gateway": {"stage_timeout_s": 0}}, "gateway.stage_timeout_s"),
        ({"gateway": {"log_format": "xml"}}, "gateway.log_format"),
        ({"purge": {"max_apps": -1}}, "purge.max_apps"),
        ({"routes": [{"prefix": "legacy", "upstream": "http://x"}]}, "routes[0].prefix"),
        ({"routes": [{"prefix": "/l", "upstream": "file:///etc"}]}, "routes[0].upstream"),
        ({"connections": {"crm": {"password": "x"}}}, "connections.crm.password"),
        ({"services": {"logger": {"folder": "x"}}}, "services.logger.folder"),
        ({"repository": {"dsn": "postgresql://u:secret@db/igw"}}, "repository.dsn"),
        ({"repository": {"dsn": "mysql://db/igw"}}, "repository.dsn"),
        ({"repository": {"dsn_env": "IGW_TEST_UNSET_DSN"}}, "repository.dsn_env"),
    ],
)
def test_bad_key_or_value_is_named(raw, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace(".", r"\.")):
        configuration.from_dict(raw)


def test_routes_longest_prefix_first():
    c = configuration.from_dict(
        {
            "routes": [
                {"prefix": "/api", "upstream": "http://a"},
                {"prefix": "/api/v2", "upstream": "http://b"},
            ]
        }
    )
    assert [r.prefix for r in c.routes] == ["/api/v2", "/api"]


def test_connection_secrets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CRM_TOKEN", "t0k")
    c = configuration.from_dict(
        {"connections": {"crm": {"bearer_env": "CRM_TOKEN", "headers": {"X-Tenant": "acme"}}}}
    )
    assert c.connections["crm"].outgoing_headers() == {
        "X-Tenant": "acme",
        "Authorization": "Bearer t0k",
    }


def test_admin_token_from_the_environment_wins(monkeypatch):
    monkeypatch.setenv("IGW_ADMIN_TOKEN", "env")
    assert configuration.from_dict({"admin": {"token": "file"}}).admin_token == "env"


def test_the_dsn_comes_from_the_environment_when_dsn_env_names_it(monkeypatch):
    monkeypatch.setenv("IGW_TEST_DSN", "postgresql://igw:secret@db.internal/igw")
    config = configuration.from_dict({"repository": {"dsn_env": "IGW_TEST_DSN"}})
    assert config.repository_dsn == "postgresql://igw:secret@db.internal/igw"
    assert config.repository_target == config.repository_dsn
    # Without it, the SQLite file: the default needs no setup.
    assert configuration.from_dict({}).repository_target.endswith("var/repository.sqlite")
