"""Clients' patterns and records (repository/clients.py): what a grant allows, what a
client's body may hold, and the clients' table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from igwcore.problems import Conflict, InvalidEntry, NotFound
from repository.clients import Client, ClientStore, Grant, client_fields
from repository.entry import ServiceEntry
from repository.store import Repository


def entry(name: str, version: str = "1.0.0", **fields) -> ServiceEntry:
    return ServiceEntry(name=name, version=version, kind="http", target={}, **fields)


def soap(name: str, wsdl: str) -> ServiceEntry:
    return ServiceEntry(name=name, kind="soap", target={"wsdl": wsdl})


@pytest.mark.parametrize(
    "pattern, name, allowed",
    [
        ("*", "anything.at.all", True),
        ("logger", "logger", True),
        ("logger", "logger2", False),
        ("customer.cz.*", "customer.cz.order", True),
        ("customer.cz.*", "customer.cz.order.lines", True),  # * takes dots
        ("customer.cz.*", "customer.de.order", False),
        ("customer.*.order", "customer.cz.order", True),
        ("validator@1.*", "validator", True),  # by id
        ("validator@2.*", "validator", False),
        ("Logger", "logger", False),  # names are case-sensitive
    ],
)
def test_patterns_match_a_name_or_an_id(pattern, name, allowed):
    assert Grant([pattern]).allows(entry(name)) is allowed


@pytest.mark.parametrize(
    "pattern, wsdl, allowed",
    [
        ("wsdl:www.cloud.com/formatter", "http://www.cloud.com/formatter", True),
        ("wsdl:www.cloud.com/formatter", "https://www.cloud.com/formatter", True),
        ("wsdl:WWW.Cloud.com/formatter", "http://www.cloud.com/formatter", True),  # host
        ("wsdl:www.cloud.com/Formatter", "http://www.cloud.com/formatter", False),  # path
        ("wsdl:www.cloud.com/*", "http://www.cloud.com/a/b?wsdl", True),
        ("wsdl:*.cloud.com/*", "http://eu.cloud.com:8080/x", False),  # the port is the URL's
        ("wsdl:*.cloud.com:8080/*", "http://eu.cloud.com:8080/x", True),
        ("wsdl:www.cloud.com/*", "http://www.cloud.com.evil.org/x", False),
    ],
)
def test_wsdl_patterns_match_a_soap_entrys_wsdl_without_its_scheme(pattern, wsdl, allowed):
    assert Grant([pattern]).allows(soap("svc.Op", wsdl)) is allowed


def test_a_wsdl_pattern_never_matches_by_name_nor_other_kinds():
    assert not Grant(["wsdl:*"]).allows(entry("wsdl"))
    http = ServiceEntry(name="x", kind="http", target={"wsdl": "http://h/x"})
    assert not Grant(["wsdl:*"]).allows(http)


def test_a_fetched_wsdls_stage_is_named_by_its_contract():
    fetched = ServiceEntry(
        id="wsdl:http://h/f?wsdl#S.P.Op",
        name="S.Op",
        kind="soap",
        target={"wsdl": "http://h/f?wsdl"},
    )
    assert Grant(["wsdl:h/f*"]).allows(fetched)
    assert Grant(["*"]).allows(fetched)
    assert not Grant(["wsdl:http://h/*"]).allows(fetched)  # HOST/PATH, without the scheme
    assert not Grant(["S.*x"]).allows(fetched)


def test_refused_lists_each_stage_id_once_in_order():
    grant = Grant(["validator"])
    stages = [entry("a"), entry("validator"), entry("b"), entry("a")]
    assert grant.refused(stages) == ("a@1.0.0", "b@1.0.0")
    assert Grant([]).refused([entry("x")]) == ("x@1.0.0",)


def test_client_fields_keep_the_integration_record():
    fields = client_fields(
        {
            "name": "crm",
            "allow": ["crm.*"],
            "description": "orders",
            "source": "https://crm.example.com/hook",
            "sends": ["application/json"],
            "id": "ignored",
        }
    )
    assert fields == {
        "name": "crm",
        "allow": ("crm.*",),
        "description": "orders",
        "source": "https://crm.example.com/hook",
        "sends": ("application/json",),
    }


def test_client_fields_name_every_bad_field():
    with pytest.raises(InvalidEntry) as e:
        client_fields({"name": "", "allow": [1], "extra": True})
    fields = {error["field"] for error in e.value.members["errors"]}
    assert fields == {"name", "allow/0", "extra"}


def make(id: str = "c1", allow=("*",)) -> Client:
    now = datetime.now(UTC)
    return Client(
        id=id,
        name="n",
        allow=tuple(allow),
        secret_hash="$argon2id$x",
        created=now,
        secret_created=now,
    )


def test_the_store_keeps_clients_in_the_repository_database(target):
    repo = Repository(target)
    store = ClientStore(repo.transaction, repo.rows)
    store.add(make("c1"))
    with pytest.raises(Conflict):
        store.add(make("c1"))
    store.replace(make("c1", allow=["validator"]))
    with pytest.raises(NotFound):
        store.replace(make("c2"))
    repo.close()
    repo = Repository(target)
    (client,) = ClientStore(repo.transaction, repo.rows).all()
    assert client.allow == ("validator",) and client.secret_hash == "$argon2id$x"
    ClientStore(repo.transaction, repo.rows).delete("c1")
    with pytest.raises(NotFound):
        ClientStore(repo.transaction, repo.rows).delete("c1")
    assert "secret" not in client.to_json() and "argon2" not in str(client.to_json())
    assert "argon2" not in repr(client)
    repo.close()
