"""SPEC §8: a bad value stops the start naming it, even one a flag replaces or one only the
scheduler reads."""

from __future__ import annotations

import pytest

from gateway import config as configuration
from gateway.config import ConfigError


@pytest.mark.parametrize("cron", ["bad", "99 * * * *", "* * * * * *"])
def test_bad_purge_cron_is_named(cron):
    with pytest.raises(ConfigError, match=r"purge\.cron"):
        configuration.from_dict({"purge": {"cron": cron}})


def test_good_purge_cron_is_taken():
    assert configuration.from_dict({"purge": {"cron": "*/5 * * * *"}}).purge.cron == "*/5 * * * *"


@pytest.mark.parametrize(
    "raw,named",
    [
        ({"gateway": {"port": "x"}}, r"gateway\.port"),
        ({"gateway": {"port": 70000}}, r"gateway\.port"),
        ({"admin": {"port": True}}, r"admin\.port"),
    ],
)
def test_bad_value_is_named_even_when_a_flag_replaces_it(raw, named):
    with pytest.raises(ConfigError, match=named):
        configuration.from_dict(raw, gateway__port=8088, admin__port=8089)


def test_flags_replace_good_values():
    c = configuration.from_dict(
        {"gateway": {"port": 1}, "admin": {"port": 2}}, gateway__port=8088, admin__port=None
    )
    assert (c.gateway.port, c.admin.port) == (8088, 2)
