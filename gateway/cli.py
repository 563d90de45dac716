"""`integration-gateway`: serve, check a header offline, and talk to a running gateway."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from gateway import config as configuration
from gateway import header
from gateway.serve import serve
from igwcore.descriptor import canonical
from igwcore.problems import Problem

EPILOG = """examples:
  integration-gateway serve --config config.toml
  integration-gateway check 'logger(level=DEBUG) | validator | JSON -> XML'
  integration-gateway resolve 'validator | JSON -> XML' --content-type application/json
  integration-gateway services
  integration-gateway apps
  integration-gateway purge --max-idle-s 0
  integration-gateway import wsdl http://127.0.0.1:8090/formatter?wsdl --prefix formatter
  integration-gateway clients add billing --allow 'validator' --allow 'customer.cz.*'
  integration-gateway clients list
  integration-gateway audit --client c0123456789abcdef0123 --limit 20

Commands other than serve and check talk to a running gateway's admin API: --admin
(default: the [admin] host and port of the config), with the token of [admin] token or
IGW_ADMIN_TOKEN. Exit status: 0 done, 1 the gateway answered with a problem, 2 bad usage
or a header syntax error, 3 the gateway could not be reached.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="integration-gateway",
        description="An HTTP gateway that assembles integration applications on demand from "
        "the Integration-Config header of a request.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, help="config file (default: ./config.toml if present)")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the gateway (public and admin listeners)")
    s.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: ./config.toml if present, else built-in defaults)",
    )
    s.add_argument("--host", help="public listener address (overrides [gateway] host)")
    s.add_argument("--port", type=int, help="public listener port (overrides [gateway] port)")
    s.add_argument("--admin-port", type=int, help="admin listener port (overrides [admin] port)")

    c = sub.add_parser("check", help="print a header's canonical form and key (offline)")
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


def _admin_command(under: Any, name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A command that talks to a running gateway: `--admin URL`, `--config` for its token."""
    a = under.add_parser(name, help=help, description=kwargs.pop("description", help), **kwargs)
    a.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file to take the admin address and token from",
    )
    a.add_argument("--admin", metavar="URL", help="admin API base URL")
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
        return 0


def _main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args.header)
    try:
        config = configuration.load(
            args.config,
            **(
                {
                    "gateway__host": args.host,
                    "gateway__port": args.port,
                    "admin__port": args.admin_port,
                }
                if args.command == "serve"
                else {}
            ),
        )
    except configuration.ConfigError as e:
        print(f"integration-gateway: config: {e}", file=sys.stderr)
        return 2
    if args.command == "serve":
        try:
            serve(config)
        except configuration.ConfigError as e:
            print(f"integration-gateway: config: {e}", file=sys.stderr)
            return 2
        return 0
    return _admin(args, config)


def _check(value: str) -> int:
    try:
        descriptors = header.parse(value)
    except Problem as p:
        extra = p.members
        where = f" at position {extra['position']}" if "position" in extra else ""
        print(f"integration-gateway: {p.detail}{where}", file=sys.stderr)
        if "position" in extra:
            print(value, file=sys.stderr)
            print(" " * extra["position"] + "^ expected " + extra["expected"], file=sys.stderr)
        return 2
    canonical_form = canonical(descriptors)
    print(canonical_form)
    print(header.key(canonical_form))
    return 0


def _admin(args: argparse.Namespace, config: configuration.Config) -> int:
    base = (args.admin or f"http://{config.admin.host}:{config.admin.port}").rstrip("/")
    token = config.admin_token
    cmd = args.command
    try:
        if cmd == "resolve":
            body: dict[str, Any] = {"header": args.header}
            if args.content_type:
                body["content_type"] = args.content_type
            result = _call(base, token, "POST", "/resolve", body)
        elif cmd == "services":
            if args.action == "list":
                result = _call(base, token, "GET", "/services")
                _table(
                    result["items"],
                    ["id", "kind", "enabled", "params", "input", "output"],
                    by_name=True,
                )
                return 0
            if args.folder is None:
                print(f"integration-gateway services {args.action}: name a folder", file=sys.stderr)
                return 2
            if args.action == "export":
                return _export(base, token, args.folder)
            return _load(base, token, args.folder)
        elif cmd == "apps":
            result = _call(base, token, "GET", "/applications")
            where = (
                ["worker", "app_server"]
                if any("worker" in r for r in result["items"])
                else ["app_server"]
            )
            _table(
                result["items"],
                ["key", *where, "hits", "in_flight", "size_bytes", "last_used", "canonical"],
            )
            return 0
        elif cmd == "purge":
            overrides = {
                k: v
                for k, v in (("max_idle_s", args.max_idle_s), ("max_apps", args.max_apps))
                if v is not None
            }
            result = _call(base, token, "POST", "/purge", overrides or None)
        elif cmd == "clients":
            return _clients(args, base, token)
        elif cmd == "audit":
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
            result = _call(base, token, "GET", path)
            _table(result["items"], ["received", "client", "status", "key", "stages", "finished"])
            return 0
        else:  # import
            body = {"kind": args.kind}
            source = Path(args.source)
            if "://" not in args.source and source.exists():
                body["document"] = source.read_text()
            else:
                body["url"] = args.source
            for key in ("prefix", "base_url", "version", "connection", "server_url", "refresh_s"):
                if getattr(args, key):
                    body[key] = getattr(args, key)
            if args.documents:
                folder = source.parent if "document" in body else Path.cwd()
                body["documents"] = {
                    Path(f).resolve().relative_to(folder.resolve()).as_posix(): Path(f).read_text()
                    for f in args.documents
                }
            result = _call(base, token, "POST", "/imports", body)
    except _Answered as e:
        print(json.dumps(e.problem, indent=2), file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # our own output's reader went away, not the admin API
    except OSError as e:
        print(f"integration-gateway: cannot reach the admin API at {base}: {e}", file=sys.stderr)
        return 3
    print(json.dumps(result, indent=2))
    return 0


EXPORTED = ("services", "imports")


def _export(base: str, token: str, folder: Path) -> int:
    """The repository as files: a service file an entry, an import file an import. What an
    earlier export left in those two folders goes first, so that the folder is exactly
    the repository (commit it; `services load` it elsewhere, or use services/ as a
    service_dirs folder)."""
    exported = _call(base, token, "GET", "/services:export")
    for part in EXPORTED:
        (folder / part).mkdir(parents=True, exist_ok=True)
        for old in (folder / part).glob("*.yaml"):
            old.unlink()
    for entry in exported["services"]:
        _write_yaml(folder / "services" / f"{_file_name(entry['id'])}.yaml", entry)
    for i, source in enumerate(exported["imports"], 1):
        stem = _file_name(source.get("prefix") or source["kind"])
        _write_yaml(folder / "imports" / f"{i:03d}-{stem}.yaml", source)
    print(
        f"exported {len(exported['services'])} services and {len(exported['imports'])} imports "
        f"to {folder}"
    )
    return 0


def _load(base: str, token: str, folder: Path) -> int:
    """Register each service file (PUT where its id exists), then make each import."""
    entries = [yaml.safe_load(p.read_text()) for p in sorted((folder / "services").glob("*.yaml"))]
    sources = [yaml.safe_load(p.read_text()) for p in sorted((folder / "imports").glob("*.yaml"))]
    existing = {e["id"]: e for e in _call(base, token, "GET", "/services")["items"]}
    changed = 0
    for entry in entries:
        known = existing.get(entry["id"])
        if known is None:
            _call(base, token, "POST", "/services", entry)
            changed += 1
        elif {k: v for k, v in known.items() if k != "held"} != entry:
            _call(
                base, token, "PUT", "/services/" + urllib.parse.quote(entry["id"], safe=""), entry
            )
            changed += 1
    for source in sources:
        _call(base, token, "POST", "/imports", source)
    same = len(entries) - changed
    print(f"loaded {changed} services ({same} already so) and {len(sources)} imports")
    return 0


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._") or "entry"


def _write_yaml(path: Path, value: Any) -> None:
    path.write_text(yaml.safe_dump(value, sort_keys=False, allow_unicode=True))


def _clients(args: argparse.Namespace, base: str, token: str) -> int:
    """`clients add|list|revoke|rotate`; a secret printed only where the API answers one."""
    if args.action == "list":
        result = _call(base, token, "GET", "/clients")
        _table(result["items"], ["id", "name", "allow", "created"])
        return 0
    if args.action == "revoke":
        _call(base, token, "DELETE", "/clients/" + urllib.parse.quote(args.id, safe=""))
        print(f"client {args.id} is revoked: its next request is refused (401)")
        return 0
    if args.action == "rotate":
        path = "/clients/" + urllib.parse.quote(args.id, safe="") + "/secret"
        client = _call(base, token, "POST", path)
        _print_secret("new secret for client", client)
        print("The old secret no longer works.")
        return 0
    body: dict[str, Any] = {"name": args.name, "allow": args.allow}
    for key in ("description", "source", "sends"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    _print_secret("made client", _call(base, token, "POST", "/clients", body))
    return 0


def _print_secret(headline: str, client: dict[str, Any]) -> None:
    print(f"{headline} {client['id']} ({client['name']}), allowed: {', '.join(client['allow'])}")
    print(f"id      {client['id']}")
    print(f"secret  {client['secret']}")
    print("The secret is shown only this once: store it now. The gateway keeps only its hash;")
    print("`clients rotate ID` makes a new one. Send Authorization: Basic base64(id:secret).")


class _Answered(Exception):
    def __init__(self, problem: Any) -> None:
        self.problem = problem


def _call(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            raise _Answered(json.loads(raw)) from None
        except json.JSONDecodeError:
            raise _Answered({"status": e.code, "detail": raw.decode(errors="replace")}) from None
    return json.loads(raw) if raw else {}


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
