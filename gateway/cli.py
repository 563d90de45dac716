"""`integration-gateway`: serve, check a header offline, and talk to a running gateway.

Every command ends with one of `STATUSES`, the table `--help` shows, so that a script can
tell a problem the gateway answered from a gateway it could not reach. `--config`,
`--json` and the admin API's options (`--admin`, `--cacert`, `--cert`, `--key`) are
taken before the command's name or after it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import textwrap
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import config as configuration
from gateway import header, repofiles
from gateway.adminclient import (
    STATUSES,
    AdminAPI,
    Answered,
    Failed,
    Status,
    admin_api,
    problem_status,
    quoted,
    read,
)
from gateway.serve import serve
from igwcore.descriptor import canonical
from igwcore.problems import Problem


def _exit_statuses() -> str:
    rows = (
        textwrap.fill(text, 88, initial_indent=f"  {status:d}  ", subsequent_indent="     ")
        for status, text in STATUSES.items()
    )
    return "exit status, for every command:\n" + "\n".join(rows)


EPILOG = f"""examples:
  integration-gateway serve --config config.toml
  integration-gateway check 'logger(level=DEBUG) | validator | JSON -> XML'
  integration-gateway resolve 'validator | JSON -> XML' --content-type application/json
  integration-gateway services
  integration-gateway apps --json
  integration-gateway purge --max-idle-s 0
  integration-gateway import wsdl http://127.0.0.1:8090/formatter?wsdl --prefix formatter
  integration-gateway imports
  integration-gateway clients add billing --allow 'validator' --allow 'customer.cz.*'
  integration-gateway clients list
  integration-gateway audit --client c0123456789abcdef0123 --limit 20
  integration-gateway --config node.toml --cacert ca.pem services

Commands other than serve and check talk to a running gateway's admin API: --admin
(default: the [admin] host and port of the config, https:// with its tls_cert), with the
token of [admin] token or IGW_ADMIN_TOKEN. --json prints the admin API's JSON answer (or
the command's result) for scripts; a problem is problem+json on stderr.

{_exit_statuses()}
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="integration-gateway",
        description="An HTTP gateway that assembles integration applications on demand from "
        "the Integration-Config header of a request.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _options(p, top=True)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the gateway (public and admin listeners)")
    _options(s, json=False, admin=False)
    s.add_argument("--host", help="public listener address (overrides [gateway] host)")
    s.add_argument("--port", type=int, help="public listener port (overrides [gateway] port)")
    s.add_argument("--admin-port", type=int, help="admin listener port (overrides [admin] port)")

    c = sub.add_parser("check", help="print a header's canonical form and key (offline)")
    _options(c, admin=False)
    c.add_argument("header", help="an Integration-Config value, quoted for the shell")

    r = _admin_command(sub, "resolve", "show the plan a header resolves to, deploying nothing")
    r.add_argument("header")
    r.add_argument("--content-type", help="the request type to type-check the pipe against")

    i = _admin_command(sub, "import", "import a WSDL or OpenAPI document as services")
    i.add_argument("kind", choices=["wsdl", "openapi"])
    i.add_argument("source", help="a URL, or a file to send as the document")
    i.add_argument("--prefix", help="name prefix of the entries")
    i.add_argument("--base-url", help="where the service lives (for a document)")
    i.add_argument(
        "--version", help="version of the entries (default 1.0.0; OpenAPI: its info.version)"
    )
    i.add_argument("--connection", help="the [connections.NAME] every entry made calls with")
    i.add_argument("--server-url", help="OpenAPI: the API's base URL, over the document's servers")
    i.add_argument(
        "--refresh-s", type=float, help="re-read the source on this period (seconds; 0: never)"
    )
    i.add_argument(
        "--with",
        dest="documents",
        metavar="FILE",
        action="append",
        default=[],
        help="OpenAPI: a file the document refers to (by its path relative to the document); "
        "repeat for more",
    )
    im = _admin_command(sub, "imports", "list past imports, or re-read one's source now")
    im.add_argument("action", nargs="?", choices=["list", "refresh"], default="list")
    im.add_argument("id", nargs="?", metavar="ID", help="the import to refresh (see imports)")

    sv = _admin_command(
        sub,
        "services",
        "list registered services; export them to a folder, or load a folder",
        epilog="examples:\n  integration-gateway services\n"
        "  integration-gateway services export ./repo    # services/*.yaml, imports/*.yaml\n"
        "  integration-gateway services load ./repo      # on another gateway",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sv.add_argument("action", nargs="?", choices=["list", "export", "load"], default="list")
    sv.add_argument("folder", nargs="?", type=Path, help="the folder to export to or load from")
    _admin_command(sub, "apps", "list deployed applications")
    pu = _admin_command(sub, "purge", "purge idle applications now")
    pu.add_argument("--max-idle-s", type=float, help="override max_idle_s for this purge")
    pu.add_argument("--max-apps", type=int, help="override max_apps for this purge")
    _client_commands(sub)
    return p


def _options(
    p: argparse.ArgumentParser,
    *,
    top: bool = False,
    json: bool = True,
    admin: bool = True,
    cert_key: bool = True,
) -> None:
    """The options every command takes before its name (`top`) or after it; after it, an
    option not given leaves the one before it in place. (After `audit`, --key is an
    application's key: the certificate's key goes before the command's name there.)"""

    def option(*names: str, **kwargs: Any) -> None:
        p.add_argument(*names, **kwargs, **({} if top else {"default": argparse.SUPPRESS}))

    option(
        "--config",
        type=Path,
        metavar="PATH",
        help="config file (default: ./config.toml if present)",
    )
    if json:
        option("--json", action="store_true", help="print JSON, for scripts")
    if admin:
        option("--admin", metavar="URL", help="admin API base URL (default: from the config)")
        option("--cacert", type=Path, metavar="PATH", help="CA bundle to trust for https://")
        option("--cert", type=Path, metavar="PATH", help="client certificate (PEM) to present")
    if admin and cert_key:
        option(
            "--key",
            dest="cert_key",
            type=Path,
            metavar="PATH",
            help="the client certificate's private key (if not in --cert's file)",
        )


def _admin_command(
    under: Any, name: str, help: str, *, cert_key: bool = True, **kwargs: Any
) -> argparse.ArgumentParser:
    """A command that talks to a running gateway's admin API."""
    a = under.add_parser(name, help=help, description=kwargs.pop("description", help), **kwargs)
    _options(a, cert_key=cert_key)
    return a


CLIENTS_HELP = """A client is an integration's own credentials (SPEC §9): with [gateway]
require_client_auth = true, every integration request carries Authorization: Basic
base64(id:secret) of one, and may use only the services its --allow patterns match."""
ALLOW_HELP = (
    "a service name or id the client may use, shell-style ('customer.cz.*', '*'), or "
    "wsdl:HOST/PATH for SOAP services of that WSDL; repeat for more"
)
CLIENTS_EXAMPLES = """examples:
  integration-gateway clients add billing --allow validator --allow 'customer.cz.*' \\
      --source https://billing.example.com --sends application/json
  integration-gateway clients list
  integration-gateway clients rotate c0123456789abcdef0123
  integration-gateway clients revoke c0123456789abcdef0123"""
SINCE_HELP = "only records received at or after this RFC 3339 time (2024-05-01T08:00:00Z)"


def _client_commands(sub: Any) -> None:
    """`clients add|list|revoke|rotate` and `audit`."""
    text = argparse.RawDescriptionHelpFormatter
    c = sub.add_parser(
        "clients",
        help="make, list, revoke clients and renew their secrets",
        description=CLIENTS_HELP,
        epilog=CLIENTS_EXAMPLES,
        formatter_class=text,
    )
    _options(c)
    actions = c.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = _admin_command(
        actions,
        "add",
        "make a client: prints its id and its secret, shown only this once",
        description=CLIENTS_HELP + "\n\nIts id and secret are generated. The secret is "
        "printed this once:\nthe gateway keeps only its hash.",
        epilog=CLIENTS_EXAMPLES,
        formatter_class=text,
    )
    add.add_argument("name", metavar="NAME", help="a label for people (need not be unique)")
    add.add_argument("--allow", action="append", required=True, metavar="PATTERN", help=ALLOW_HELP)
    add.add_argument(
        "--description", metavar="TEXT", help="what the integration is, for the record"
    )
    add.add_argument("--source", metavar="URL", help="the sending system's http(s) URL")
    add.add_argument(
        "--sends",
        nargs="+",
        action="extend",
        metavar="TYPE",
        help="the media types it sends (information, not a check)",
    )
    _admin_command(actions, "list", "list clients (never their secrets)")
    revoke = _admin_command(actions, "revoke", "revoke a client at once: its next request is 401")
    revoke.add_argument("id", metavar="ID", help="the client's id (see clients list)")
    rotate = _admin_command(
        actions, "rotate", "a new secret for a client (shown once); the old one stops working"
    )
    rotate.add_argument("id", metavar="ID", help="the client's id (see clients list)")

    a = _admin_command(
        sub,
        "audit",
        "show audit records, newest first (needs [audit] enabled)",
        description="Audit records of integration requests, newest first: one a request, "
        "with [audit] enabled (the default when clients are required).",
        cert_key=False,
    )
    a.add_argument("--client", metavar="ID", help="only this client's records")
    a.add_argument("--key", help="only records of this application key")
    a.add_argument("--since", metavar="TIME", help=SINCE_HELP)
    a.add_argument("--limit", type=int, metavar="N", help="at most N records (default 100)")


def _version() -> str:
    try:
        return importlib.metadata.version("integration-gateway")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    """The command line; a reader that stops reading (`| head`) ends it quietly, status 0,
    as Unix tools do."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it elsewhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return Status.DONE


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except Failed as e:
        print(f"integration-gateway: {e}", file=sys.stderr)
        return e.status
    except Answered as e:
        print(_problem_text(e.problem, args), file=sys.stderr)
        return problem_status(e.problem)
    return Status.DONE


def _run(args: argparse.Namespace) -> None:
    serving = args.command == "serve"
    flags = (
        {"gateway__host": args.host, "gateway__port": args.port, "admin__port": args.admin_port}
        if serving
        else {}
    )
    try:
        config = configuration.load(args.config, **flags)
        if serving:
            serve(config)
            return
    except configuration.ConfigError as e:
        raise Failed(Status.USAGE, f"config: {e}") from None
    out = Output(args.json)
    if args.command == "check":
        _check(args.header, config, out)
        return
    api = admin_api(config, args.admin, args.cacert, args.cert, args.cert_key)
    COMMANDS[args.command](args, api, out)


def _problem_text(problem: dict[str, Any], args: argparse.Namespace) -> str:
    """problem+json; a header's syntax error for people: its detail, then the header with a
    caret under the position (which the detail names once)."""
    value = getattr(args, "header", None)
    if args.json or value is None or not isinstance(problem.get("position"), int):
        return json.dumps(problem, indent=2)
    return "\n".join(
        (
            f"integration-gateway: {problem['detail']}",
            f"  {value}",
            f"  {' ' * problem['position']}^",
        )
    )


@dataclass(frozen=True)
class Output:
    """What a command prints: for people, or (`--json`) as JSON for scripts."""

    as_json: bool

    def json(self, value: Any) -> None:
        print(json.dumps(value, indent=2))

    def table(self, answer: dict[str, Any], columns: list[str], *, by_name: bool = False) -> None:
        if self.as_json:
            self.json(answer)
        else:
            _table(answer["items"], columns, by_name=by_name)

    def lines(self, value: Any, *lines: str) -> None:
        if self.as_json:
            self.json(value)
        else:
            print("\n".join(lines))


def _check(value: str, config: configuration.Config, out: Output) -> None:
    g = config.gateway
    try:
        descriptors = header.parse(value, max_stages=g.max_stages, max_args=g.max_args)
    except Problem as p:
        raise Answered(p.body()) from None
    canonical_form = canonical(descriptors)
    key = header.key(canonical_form)
    out.lines({"canonical": canonical_form, "key": key}, canonical_form, key)


# -- the admin API's commands ---------------------------------------------------------------


def _resolve(args: argparse.Namespace, api: AdminAPI, out: Output) -> None:
    body: dict[str, Any] = {"header": args.header}
    if args.content_type:
        body["content_type"] = args.content_type
    out.json(api.call("POST", "/resolve", body))


def _import(args: argparse.Namespace, api: AdminAPI, out: Output) -> None:
    body: dict[str, Any] = {"kind": args.kind}
    source = Path(args.source)
    if "://" not in args.source and source.exists():
        body["document"] = read(source)
    else:
        body["url"] = args.source
    for key in ("prefix", "base_url", "version", "connection", "server_url", "refresh_s"):
        if getattr(args, key):
            body[key] = getattr(args, key)
    if args.documents:
        folder = (source.parent if "document" in body else Path.cwd()).resolve()
        body["documents"] = {}
        for name in args.documents:
            try:
                relative = Path(name).resolve().relative_to(folder).as_posix()
            except ValueError:
                raise Failed(Status.USAGE, f"--with {name}: not inside {folder}") from None
            body["documents"][relative] = read(Path(name))
    out.json(api.call("POST", "/imports", body))


def _imports(args: argparse.Namespace, api: AdminAPI, out: Output) -> None:
    if args.action == "list":
        columns = ["id", "kind", "prefix", "version", "refresh_s", "created", "url"]
        out.table(api.call("GET", "/imports"), columns)
        return
    if args.id is None:
        raise Failed(Status.USAGE, "imports refresh: name the import (its ID, see imports)")
    out.json(api.call("POST", f"/imports/{quoted(args.id)}/refresh"))


def _services(args: argparse.Namespace, api: AdminAPI, out: Output) -> None:
    if args.action == "list":
        columns = ["id", "kind", "enabled", "params", "input", "output"]
        out.table(api.call("GET", "/services"), columns, by_name=True)
        return
    if args.folder is None:
        raise Failed(Status.USAGE, f"services {args.action}: name a folder")
    if args.action == "export":
        done = repofiles.export(api, args.folder)
        what = (
            f"exported {done['services']} services and {done['imports']} imports "
            f"to {done['folder']}"
        )
    else:
        done = repofiles.load(api, args.folder)
        what = (
            f"loaded {done['changed']} services ({done['unchanged']} already so) and "
            f"{done['imports']} imports"
        )
    out.lines(done, what)


def _apps(args: argparse.Namespace, api: AdminAPI, out: Output) -> None:
    answer = api.call("GET", "/applications")
    workers = any("worker" in r for r in answer["items"])
    where = ["worker", "app_server"] if workers else ["app_server"]
    columns = ["key", *where, "hits", "in_flight", "size_bytes", "last_used", "canonical"]
    out.table(answer, columns)


def _purge(args: argparse.Namespace, api: AdminAPI, out: Output) -> None:
    overrides = {
        k: v
        for k, v in (("max_idle_s", args.max_idle_s), ("max_apps", args.max_apps))
        if v is not None
    }
    out.json(api.call("POST", "/purge", overrides or None))


def _audit(args: argparse.Namespace, api: AdminAPI, out: Output) -> None:
    query = {
        k: v
        for k, v in (
            ("client", args.client),
            ("key", args.key),
            ("since", args.since),
            ("limit", args.limit),
        )
        if v is not None
    }
    path = "/audit" + ("?" + urllib.parse.urlencode(query) if query else "")
    out.table(api.call("GET", path), ["received", "client", "status", "key", "stages", "finished"])


def _clients(args: argparse.Namespace, api: AdminAPI, out: Output) -> None:
    """`clients add|list|revoke|rotate`; a secret printed only where the API answers one."""
    if args.action == "list":
        out.table(api.call("GET", "/clients"), ["id", "name", "allow", "created"])
    elif args.action == "revoke":
        api.call("DELETE", "/clients/" + quoted(args.id))
        out.lines(
            {"id": args.id, "revoked": True},
            f"client {args.id} is revoked: its next request is refused (401)",
        )
    elif args.action == "rotate":
        client = api.call("POST", f"/clients/{quoted(args.id)}/secret")
        lines = _secret_lines("new secret for client", client)
        out.lines(client, *lines, "The old secret no longer works.")
    else:
        body: dict[str, Any] = {"name": args.name, "allow": args.allow}
        for key in ("description", "source", "sends"):
            if getattr(args, key) is not None:
                body[key] = getattr(args, key)
        client = api.call("POST", "/clients", body)
        out.lines(client, *_secret_lines("made client", client))


def _secret_lines(headline: str, client: dict[str, Any]) -> list[str]:
    return [
        f"{headline} {client['id']} ({client['name']}), allowed: {', '.join(client['allow'])}",
        f"id      {client['id']}",
        f"secret  {client['secret']}",
        "The secret is shown only this once: store it now. The gateway keeps only its hash;",
        "`clients rotate ID` makes a new one. Send Authorization: Basic base64(id:secret).",
    ]


COMMANDS: dict[str, Callable[[argparse.Namespace, AdminAPI, Output], None]] = {
    "resolve": _resolve,
    "import": _import,
    "imports": _imports,
    "services": _services,
    "apps": _apps,
    "purge": _purge,
    "clients": _clients,
    "audit": _audit,
}


def _table(rows: list[dict[str, Any]], columns: list[str], *, by_name: bool = False) -> None:
    """`yes`/`no` for booleans, `-` for nothing; with `by_name`, rows by their first column,
    case aside (otherwise in the API's order: the audit's newest first)."""

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, dict):  # an entry's parameters: their names
            return ",".join(v) or "-"
        return ",".join(map(str, v)) if isinstance(v, list) else str(v)

    if by_name:
        rows = sorted(rows, key=lambda r: cell(r.get(columns[0], "")).casefold())

    widths = {c: max([len(c), *(len(cell(r.get(c, ""))) for r in rows)]) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        print("  ".join(cell(r.get(c, "")).ljust(widths[c]) for c in columns).rstrip())


if __name__ == "__main__":
    sys.exit(main())
