"""SPEC §7: the command line, run as a user runs it."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("integration-gateway"))
PATENT = (
    "logger(level=DEBUG, file=log.txt) | validator | JSON -> XML | "
    "wsdl:www.cloud.com/formatter#XMLCheck | customer.cz.order"
)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_check_prints_canonical_form_and_key():
    r = run("check", PATENT)
    assert r.returncode == 0, r.stderr
    canonical, key = r.stdout.splitlines()
    assert canonical.startswith("logger(file=log.txt, level=DEBUG) | validator | ")
    assert key == "a7cd4417c017c88b8dcc6ca000228db8"


def test_check_syntax_error_exits_2_with_the_position_once():
    r = run("check", "validator | (")
    assert r.returncode == 2 and r.stdout == ""
    detail, value, caret = r.stderr.splitlines()
    assert "offset 12" in detail and r.stderr.count("12") == 1
    assert value == "  validator | (" and caret == "  " + " " * 12 + "^"


def test_check_takes_the_configs_limits_and_json(tmp_path):
    (tmp_path / "config.toml").write_text("[gateway]\nmax_stages = 2\n")
    config = str(tmp_path / "config.toml")
    r = run("check", "--config", config, "validator | logger | validator")
    assert r.returncode == 2 and json.loads(r.stderr)["type"].endswith("/too-many-stages")
    r = run("--config", config, "check", "--json", "validator|logger")
    assert r.returncode == 0
    assert json.loads(r.stdout) == {
        "canonical": "validator | logger",
        "key": run("check", "validator | logger").stdout.split()[-1],
    }


def test_help_names_every_command():
    r = run("--help")
    assert r.returncode == 0
    for command in (
        "serve",
        "check",
        "resolve",
        "import",
        "services",
        "apps",
        "purge",
        "clients",
        "audit",
    ):
        assert command in r.stdout


def test_help_states_every_exit_status():
    r = run("--help")
    table = r.stdout.split("exit status, for every command:\n", 1)[1]
    assert [line.split()[0] for line in table.splitlines() if line[:3].strip()] == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]


def test_bad_usage_exits_2():
    for args in (["apps", "--nope"], ["services", "export"], ["imports", "refresh"], []):
        r = run(*args)
        assert r.returncode == 2, (args, r.stderr)


def test_bad_config_key_stops_the_start(tmp_path):
    (tmp_path / "config.toml").write_text("[gateway]\nprot = 8080\n")
    r = run("serve", "--config", str(tmp_path / "config.toml"))
    assert r.returncode == 2 and "gateway.prot" in r.stderr


@contextlib.contextmanager
def serving(
    work: Path, more_config: str = "", admin_config: str = ""
) -> Iterator[tuple[str, str, Path]]:
    """`integration-gateway serve` in `work`, until it answers; SIGTERM stops it cleanly."""
    port, admin = free_port(), free_port()
    (work / "config.toml").write_text(f"""
[gateway]
port = {port}
{more_config}
[admin]
port = {admin}
{admin_config}
[purge]
interval_s = 0
""")
    proc = subprocess.Popen(
        [EXE, "serve", "--config", str(work / "config.toml")],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base, adm = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin}"
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(base + "/_gateway/health", timeout=1).read()
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("gateway did not start: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.1)
    yield base, adm, work
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(20) == 0


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str, Path]]:
    with serving(tmp_path_factory.mktemp("cli")) as running:
        yield running


TOKEN = "cli-t0ken"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Iterator[tuple[str, str, Path]]:
    """A gateway that requires clients (SPEC §9), and so keeps the audit; its admin API
    has a token, which the commands take from its config (as its address)."""
    with serving(
        tmp_path_factory.mktemp("cli-clients"),
        "require_client_auth = true",
        f"token = '{TOKEN}'",
    ) as (base, _adm, work):
        yield base, str(work / "config.toml"), work


def test_admin_commands_talk_to_the_running_gateway(served):
    base, adm, _work = served
    req = urllib.request.Request(
        base + "/",
        data=b"{}",
        method="POST",
        headers={"Integration-Config": "validator", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(req, timeout=10).read()
    services = run("services", "--admin", adm)
    assert services.returncode == 0 and "logger@1.0.0" in services.stdout
    apps = run("apps", "--admin", adm)
    assert apps.returncode == 0 and "validator" in apps.stdout
    plan = run("resolve", "validator | JSON -> XML", "--admin", adm)
    assert plan.returncode == 0
    assert [s["service"] for s in json.loads(plan.stdout)["stages"]] == [
        "validator@1.0.0",
        "json_to_xml@1.0.0",
    ]
    purged = run("purge", "--max-idle-s", "0", "--admin", adm)
    assert purged.returncode == 0 and len(json.loads(purged.stdout)["purged"]) == 1


def test_admin_command_reports_a_problem(served):
    _, adm, _ = served
    r = run("resolve", "nope", "--admin", adm)
    assert r.returncode == 1 and "service-not-found" in r.stderr


def test_admin_command_unreachable_exits_3():
    r = run("apps", "--admin", f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 3 and "cannot reach" in r.stderr


def test_import_wsdl_from_a_file(served):
    _, adm, _work = served
    corpus = Path(__file__).parents[2].parent / "shared" / "corpus" / "soap.wsdl"
    r = run("import", "wsdl", str(corpus), "--prefix", "cli.stock", "--admin", adm)
    assert r.returncode == 0, r.stderr
    assert "cli.stock.GetLastTradePrice" in r.stdout


def integration_request(base: str, header: str, client_id: str, secret: str) -> int:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    req = urllib.request.Request(
        base + "/",
        data=b"{}",
        method="POST",
        headers={
            "Integration-Config": header,
            "Content-Type": "application/json",
            "Authorization": "Basic " + basic,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def made(r: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """The id and secret `clients add` or `clients rotate` printed."""
    assert r.returncode == 0, r.stderr
    assert "shown only this once" in r.stdout
    fields = dict(line.split(None, 1) for line in r.stdout.splitlines()[1:3])
    return fields["id"], fields["secret"]


def test_clients_help_says_what_each_action_does():
    r = run("clients", "--help")
    assert r.returncode == 0
    for action in ("add", "list", "revoke", "rotate"):
        assert action in r.stdout
    r = run("clients", "add", "--help")
    assert r.returncode == 0 and "--allow PATTERN" in r.stdout and "wsdl:HOST/PATH" in r.stdout


def test_clients_add_without_allow_is_bad_usage():
    r = run("clients", "add", "billing")
    assert r.returncode == 2 and "--allow" in r.stderr


def test_clients_add_prints_id_and_secret_once_and_list_never_shows_it(guarded):
    base, cfg, _ = guarded
    r = run(
        "clients",
        "add",
        "cli billing",
        "--allow",
        "validator",
        "--allow",
        "json_to_*",
        "--description",
        "billing's nightly export",
        "--source",
        "https://billing.example.com",
        "--sends",
        "application/json",
        "text/csv",
        "--config",
        cfg,
    )
    client_id, secret = made(r)
    assert r.stdout.startswith(f"made client {client_id} (cli billing), allowed: validator,")
    assert integration_request(base, "validator", client_id, secret) == 200
    assert integration_request(base, "logger", client_id, secret) == 403

    listed = run("clients", "list", "--config", cfg)
    assert listed.returncode == 0, listed.stderr
    head, *rows = listed.stdout.splitlines()
    assert head.split() == ["ID", "NAME", "ALLOW", "CREATED"]
    [row] = [row for row in rows if row.startswith(client_id)]
    assert "cli billing" in row and "validator,json_to_*" in row
    assert secret not in listed.stdout


def test_clients_rotate_gives_a_new_secret_and_the_old_one_stops_working(guarded):
    base, cfg, _ = guarded
    client_id, old = made(run("clients", "add", "rotated", "--allow", "*", "--config", cfg))
    r = run("clients", "rotate", client_id, "--config", cfg)
    same_id, new = made(r)
    assert same_id == client_id and new != old
    assert "old secret no longer works" in r.stdout
    assert integration_request(base, "validator", client_id, old) == 401
    assert integration_request(base, "validator", client_id, new) == 200


def test_clients_revoke_then_list_shows_it_gone(guarded):
    base, cfg, _ = guarded
    client_id, secret = made(run("clients", "add", "short-lived", "--allow", "*", "--config", cfg))
    assert client_id in run("clients", "list", "--config", cfg).stdout
    r = run("clients", "revoke", client_id, "--config", cfg)
    assert r.returncode == 0, r.stderr
    assert f"client {client_id} is revoked" in r.stdout
    assert client_id not in run("clients", "list", "--config", cfg).stdout
    assert integration_request(base, "validator", client_id, secret) == 401


def test_clients_commands_report_the_gateways_problem(guarded):
    _, cfg, _ = guarded
    r = run("clients", "revoke", "cnosuchclient", "--config", cfg)
    assert r.returncode == 1 and "not-found" in r.stderr and "cnosuchclient" in r.stderr
    r = run("clients", "add", "bad", "--allow", "*", "--source", "ftp://x", "--config", cfg)
    assert r.returncode == 1
    problem = json.loads(r.stderr)
    assert problem["status"] == 422 and {"field": "source"}.items() <= problem["errors"][0].items()
    assert "secret" not in r.stdout


def test_audit_lists_the_requests_of_a_client_newest_first(guarded):
    base, cfg, _ = guarded
    client_id, secret = made(
        run("clients", "add", "audited", "--allow", "validator", "--config", cfg)
    )
    assert integration_request(base, "validator", client_id, secret) == 200
    assert integration_request(base, "logger", client_id, secret) == 403
    r = run("audit", "--client", client_id, "--config", cfg)
    assert r.returncode == 0, r.stderr
    head, *rows = r.stdout.splitlines()
    assert head.split() == ["RECEIVED", "CLIENT", "STATUS", "KEY", "STAGES", "FINISHED"]
    assert [row.split()[1:3] for row in rows] == [[client_id, "403"], [client_id, "200"]]
    assert "validator@1.0.0" in rows[1]
    one = run("audit", "--client", client_id, "--limit", "1", "--config", cfg)
    assert len(one.stdout.splitlines()) == 2
    future = run("audit", "--since", "2999-01-01T00:00:00Z", "--config", cfg)
    assert future.returncode == 0 and future.stdout.splitlines()[1:] == []


def test_audit_reports_a_bad_time_and_an_audit_that_is_off(guarded, served):
    r = run("audit", "--since", "yesterday", "--config", guarded[1])
    assert r.returncode == 1 and "since" in r.stderr and "invalid-entry" in r.stderr
    r = run("audit", "--admin", served[1])
    assert r.returncode == 1 and "the audit is off" in r.stderr


def test_version_is_printed():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("integration-gateway ")


def test_a_reader_that_stops_reading_ends_the_command_quietly(served):
    _base, adm, _work = served
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {EXE} services --admin {adm} | head -c 10"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_the_services_table_sorts_case_aside_says_yes_or_no_and_names_parameters(served):
    _base, adm, _work = served
    out = run("services", "--admin", adm).stdout.splitlines()
    assert out[0].split() == ["ID", "KIND", "ENABLED", "PARAMS", "INPUT", "OUTPUT"]
    ids = [line.split()[0] for line in out[1:]]
    assert ids == sorted(ids, key=str.casefold)
    logger = next(line for line in out if line.startswith("logger@"))
    assert logger.split()[2] in ("yes", "no") and "file,level" in logger


def test_resolve_of_a_header_with_a_syntax_error_exits_2_as_check_does(served):
    _base, adm, _work = served
    r = run("resolve", "validator | (", "--admin", adm)
    assert r.returncode == 2
    assert r.stderr == run("check", "validator | (").stderr
    r = run("resolve", "validator | (", "--admin", adm, "--json")
    assert r.returncode == 2 and json.loads(r.stderr)["position"] == 12


def test_a_wrong_or_missing_token_exits_4(guarded):
    _base, cfg, _work = guarded
    port = (Path(cfg).read_text().split("[admin]\nport = ", 1)[1]).split()[0]
    r = run("apps", "--admin", f"http://127.0.0.1:{port}")  # ./config.toml has no token
    assert r.returncode == 4 and "invalid-credentials" in r.stderr
    assert run("apps", "--config", cfg).returncode == 0


def test_config_before_or_after_the_command_gives_the_admin_address_and_token(guarded):
    _base, cfg, _work = guarded
    for args in (("--config", cfg, "clients", "list"), ("clients", "list", "--config", cfg)):
        r = run(*args)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split()[:4] == ["ID", "NAME", "ALLOW", "CREATED"]
    r = run("--config", cfg, "clients", "--json", "list")
    assert r.returncode == 0 and isinstance(json.loads(r.stdout)["items"], list)


def test_the_readmes_admin_before_the_command_works(served):
    _base, adm, _work = served
    r = run("--admin", adm, "--json", "apps")
    assert r.returncode == 0 and "items" in json.loads(r.stdout)


def test_json_prints_what_the_admin_api_answers(served):
    _base, adm, _work = served
    services = json.loads(run("services", "--json", "--admin", adm).stdout)
    assert any(s["id"] == "logger@1.0.0" for s in services["items"])
    plan = json.loads(run("resolve", "validator", "--json", "--admin", adm).stdout)
    assert plan["stages"][0]["service"] == "validator@1.0.0"
    apps = json.loads(run("apps", "--json", "--admin", adm).stdout)
    assert isinstance(apps["items"], list)
    purged = json.loads(run("purge", "--json", "--admin", adm).stdout)
    assert "purged" in purged


def test_json_of_clients_and_audit(guarded):
    base, cfg, _work = guarded
    made_ = run("clients", "add", "scripted", "--allow", "validator", "--json", "--config", cfg)
    client = json.loads(made_.stdout)
    assert made_.returncode == 0 and client["name"] == "scripted" and client["secret"]
    assert integration_request(base, "validator", client["id"], client["secret"]) == 200
    listed = json.loads(run("clients", "list", "--json", "--config", cfg).stdout)
    assert client["id"] in [c["id"] for c in listed["items"]]
    audit = json.loads(run("audit", "--client", client["id"], "--json", "--config", cfg).stdout)
    assert [r["status"] for r in audit["items"]] == [200]
    rotated = json.loads(run("clients", "rotate", client["id"], "--json", "--config", cfg).stdout)
    assert rotated["secret"] != client["secret"]
    revoked = run("clients", "revoke", client["id"], "--json", "--config", cfg)
    assert json.loads(revoked.stdout) == {"id": client["id"], "revoked": True}


def test_imports_lists_them_as_a_table_or_json(served):
    _base, adm, _work = served
    corpus = Path(__file__).parents[2].parent / "shared" / "corpus" / "soap.wsdl"
    made_ = run("import", "wsdl", str(corpus), "--prefix", "cli.listed", "--json", "--admin", adm)
    assert made_.returncode == 0, made_.stderr
    made_id = json.loads(made_.stdout)["id"]
    table = run("imports", "--admin", adm)
    assert table.returncode == 0
    assert table.stdout.split()[:7] == [
        "ID",
        "KIND",
        "PREFIX",
        "VERSION",
        "REFRESH_S",
        "CREATED",
        "URL",
    ]
    [row] = [line for line in table.stdout.splitlines() if line.startswith(made_id)]
    assert "cli.listed" in row and "wsdl" in row
    listed = json.loads(run("imports", "--json", "--admin", adm).stdout)
    assert made_id in [i["id"] for i in listed["items"]]
    r = run("imports", "refresh", "nosuchimport", "--admin", adm)
    assert r.returncode == 1 and json.loads(r.stderr)["type"].endswith("/not-found")


def test_a_file_that_cannot_be_read_exits_2(served, tmp_path):
    _base, adm, _work = served
    document = tmp_path / "api.yaml"
    document.write_text("openapi: 3.0.3\n")
    r = run(
        "import", "openapi", str(document), "--with", str(tmp_path / "gone.yaml"), "--admin", adm
    )
    assert r.returncode == 2 and "cannot read" in r.stderr and "gone.yaml" in r.stderr
