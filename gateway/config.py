"""The operator's configuration (SPEC §8): one typed object, loaded once and validated."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import ssl
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from appserver.connections import Connection
from appserver.purge import MAX_SECONDS, PurgePolicy, cron_trigger
from gateway import tls

ORIGIN_RE = re.compile(r"https?://[^/?#@\s]+", re.IGNORECASE)


class ConfigError(ValueError):
    """A bad or unknown key: the message names it."""


@dataclass(frozen=True)
class GatewaySection:
    host: str = "127.0.0.1"
    port: int = 8080
    max_header_bytes: int = 8192
    max_body_bytes: int = 10_485_760
    max_stages: int = 32
    max_args: int = 32
    stage_timeout_s: float = 30.0
    # The most a stage's isolated work (a client's schema, stylesheet, a large
    # conversion) may hold: past it, 422 /stage-rejected (SPEC §10.4).
    stage_memory_bytes: int = 268_435_456
    # SPEC §10.5: a head's and a body's deadlines, and the open public connections.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_connections: int = 1000
    header_cache_bytes: int = 16_777_216  # raw Integration-Config values kept parsed (§10.10)
    workers: int = 1
    require_client_auth: bool = False
    node: str = field(default_factory=socket.gethostname)
    log_format: str = "text"
    # HTTPS on this listener (issue 14): PEM files; with tls_client_ca, clients present a
    # certificate that CA signed, besides their Basic credentials.
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""


@dataclass(frozen=True)
class AdminSection:
    host: str = "127.0.0.1"
    port: int = 8081
    token: str = ""
    # Origins besides the listener's own that may change state (an admin behind a proxy):
    # `scheme://host[:port]`, as a browser sends them.
    origins: tuple[str, ...] = ()
    # HTTPS as on [gateway]; with tls_client_ca, a certificate besides the token.
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""


@dataclass(frozen=True)
class RepositorySection:
    path: str = "var/repository.sqlite"
    # A shared PostgreSQL repository (issue 13): `postgresql://user@host/db`, its password
    # never in the file (PGPASSWORD, ~/.pgpass), or the whole dsn from the variable
    # `dsn_env` names.
    dsn: str = ""
    dsn_env: str = ""
    service_dirs: tuple[str, ...] = ()
    # Shell-style patterns over dotted module names (`acme.services.*`): the modules whose
    # functions and classes python entries may run, besides the built-ins' (SPEC §10.2).
    python_modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssemblerSection:
    fetch_wsdl_hosts: tuple[str, ...] = ()
    fetch_max_bytes: int = 5_242_880
    fetch_timeout_s: float = 10.0
    auto_convert: bool = False
    fetch_cache: int = 64  # WSDLs fetched for wsdl: stages kept in memory (SPEC §10.3)


@dataclass(frozen=True)
class AuditSection:
    enabled: bool | None = None  # None: follows [gateway] require_client_auth
    keep_days: int = 30  # 0: kept for ever
    # An addition to SPEC §8: the records' own SQLite file, not the repository's.
    path: str = "var/audit.sqlite"


@dataclass(frozen=True)
class AppServerSection:
    count: int = 1


@dataclass(frozen=True)
class TelemetrySection:
    """OpenTelemetry traces (an addition to SPEC §8): off unless an exporter is named."""

    exporter: str = ""  # "", "console" or "otlp" (needs integration-gateway[otel])
    endpoint: str = ""  # OTLP/HTTP traces endpoint; "" is the SDK's default
    service_name: str = "integration-gateway"


@dataclass(frozen=True)
class Route:
    prefix: str
    upstream: str
    timeout_s: float = 30.0  # to the upstream's answer head, and each pause in its body
    max_connections: int = 100  # the route's own pool


@dataclass(frozen=True)
class Config:
    gateway: GatewaySection = field(default_factory=GatewaySection)
    admin: AdminSection = field(default_factory=AdminSection)
    repository: RepositorySection = field(default_factory=RepositorySection)
    assembler: AssemblerSection = field(default_factory=AssemblerSection)
    audit: AuditSection = field(default_factory=AuditSection)
    appserver: AppServerSection = field(default_factory=AppServerSection)
    purge: PurgePolicy = field(default_factory=PurgePolicy)
    telemetry: TelemetrySection = field(default_factory=TelemetrySection)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    connections: dict[str, Connection] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path.cwd)

    def path(self, relative: str) -> Path:
        """A configured path, relative to the config file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.base_dir / p

    @property
    def admin_token(self) -> str:
        return os.environ.get("IGW_ADMIN_TOKEN") or self.admin.token

    @property
    def repository_dsn(self) -> str:
        """The shared repository's dsn ("" for the SQLite file): `dsn_env`'s variable
        over `dsn`."""
        r = self.repository
        return (os.environ.get(r.dsn_env, "") if r.dsn_env else "") or r.dsn

    @property
    def repository_target(self) -> str:
        """What `Repository` opens: the dsn, else the SQLite file's path."""
        return self.repository_dsn or str(self.path(self.repository.path))

    @property
    def audit_enabled(self) -> bool:
        if self.audit.enabled is None:
            return self.gateway.require_client_auth
        return self.audit.enabled

    def tls_context(self, listener: str) -> ssl.SSLContext | None:
        """The `gateway` or `admin` listener's TLS context, None without `tls_cert`;
        ConfigError naming the key whose file cannot serve."""
        section = getattr(self, listener)
        if not section.tls_cert:
            return None
        ca = section.tls_client_ca
        try:
            return tls.server_context(
                self.path(section.tls_cert),
                self.path(section.tls_key),
                self.path(ca) if ca else None,
            )
        except tls.TLSFileError as e:
            raise ConfigError(f"{listener}.{e.key}: {e}") from None

    def service_settings(self, name: str) -> dict[str, Any]:
        """The `[services.NAME]` table, its paths made absolute and its defaults filled in."""
        settings = dict(self.services.get(name, {}))
        for key, (kind, default) in SERVICE_SETTINGS.get(name, {}).items():
            value = settings.get(key, default)
            settings[key] = str(self.path(value)) if kind is Path else value
        return settings


SECTIONS = {
    "gateway": GatewaySection,
    "admin": AdminSection,
    "repository": RepositorySection,
    "assembler": AssemblerSection,
    "audit": AuditSection,
    "appserver": AppServerSection,
    "purge": PurgePolicy,
    "telemetry": TelemetrySection,
}
# The keys of `[services.NAME]` tables the gateway knows: (type, default); a Path is
# relative to the config file's folder. Tables of other services are theirs to read.
SERVICE_SETTINGS: dict[str, dict[str, tuple[type, Any]]] = {
    "logger": {"dir": (Path, "var/log"), "max_files": (int, 100)}
}


MAX_WORKERS = 64
DSN_RE = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)
_DSN_PASSWORD = re.compile(r"^[^:/]+://[^/@]*:[^/@]*@|[?&]password=", re.IGNORECASE)


def _check_dsn(config: Config) -> None:
    r = config.repository
    if r.dsn and _DSN_PASSWORD.search(r.dsn):
        raise ConfigError(
            "repository.dsn holds a password: secrets only ever come from the environment "
            "(PGPASSWORD, a ~/.pgpass file, or the whole dsn in the variable dsn_env names)"
        )
    if r.dsn_env and not os.environ.get(r.dsn_env) and not r.dsn:
        raise ConfigError(f"repository.dsn_env names {r.dsn_env}, which is not set")
    dsn = config.repository_dsn
    if dsn and not DSN_RE.match(dsn):
        where = f"the variable {r.dsn_env}" if r.dsn_env and os.environ.get(r.dsn_env) else "dsn"
        raise ConfigError(
            f"repository.dsn: {where} is not a PostgreSQL dsn (postgresql://USER@HOST/DB)"
        )


def _check_tls(config: Config) -> None:
    """Both files or neither; a client CA only over TLS; each file loaded now, so that a
    bad one stops the start rather than every handshake."""
    for listener in ("gateway", "admin"):
        section = getattr(config, listener)
        if bool(section.tls_cert) != bool(section.tls_key):
            missing = "tls_key" if section.tls_cert else "tls_cert"
            raise ConfigError(
                f"{listener}.{missing} is missing: TLS needs both tls_cert and tls_key"
            )
        if section.tls_client_ca and not section.tls_cert:
            raise ConfigError(
                f"{listener}.tls_client_ca needs TLS on that listener: set tls_cert and tls_key"
            )
        config.tls_context(listener)


def load(path: Path | None = None, **overrides: Any) -> Config:
    """Read `path` (else ./config.toml if present, else defaults); raise ConfigError."""
    if path is None:
        candidate = Path("config.toml")
        path = candidate if candidate.exists() else None
    raw: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError as e:
            raise ConfigError(f"{path}: no such file") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: {e}") from e
        base_dir = Path(path).resolve().parent
    return from_dict(raw, base_dir=base_dir, **overrides)


def from_dict(raw: dict[str, Any], *, base_dir: Path | None = None, **overrides: Any) -> Config:
    """Build a Config from parsed TOML; `overrides` are `section__key=value` (CLI flags)."""
    given = {dotted: value for dotted, value in overrides.items() if value is not None}
    if given:
        # A flag replaces a key, but the file's own value must still be a valid one.
        from_dict(raw, base_dir=base_dir)
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for dotted, value in given.items():
        section, key = dotted.split("__", 1)
        raw.setdefault(section, {})[key] = value
    kwargs: dict[str, Any] = {"base_dir": base_dir or Path.cwd()}
    for name, value in raw.items():
        if name in SECTIONS:
            kwargs[name] = _section(name, SECTIONS[name], value)
        elif name == "routes":
            kwargs["routes"] = _routes(value)
        elif name == "connections":
            kwargs["connections"] = _connections(value)
        elif name == "services":
            kwargs["services"] = _services(value)
        else:
            raise ConfigError(f"unknown section [{name}]")
    config = Config(**kwargs)
    _check(config)
    return config


def _typecheck(where: str, expected: Any, value: Any) -> Any:
    origin = getattr(expected, "__origin__", None)
    if expected is bool or expected == (bool | None):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, not {value!r}")
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        return float(value)
    if expected is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings, not {value!r}")
        return tuple(value)
    raise ConfigError(f"{where}: unsupported value {value!r}")


def _section(name: str, cls: type, value: Any) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in value:
        if key not in known:
            raise ConfigError(f"unknown key {name}.{key} (known: {', '.join(sorted(known))})")
    return cls(**{k: _typecheck(f"{name}.{k}", hints[k], v) for k, v in value.items()})


ROUTE_KEYS = ("prefix", "upstream", "timeout_s", "max_connections")


def _routes(value: Any) -> tuple[Route, ...]:
    if not isinstance(value, list):
        raise ConfigError("[[routes]] must be an array of tables")
    routes = []
    for i, item in enumerate(value):
        where = f"routes[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where} must be a table")
        for key in item:
            if key not in ROUTE_KEYS:
                raise ConfigError(f"unknown key {where}.{key} (known: {', '.join(ROUTE_KEYS)})")
        prefix = _typecheck(f"{where}.prefix", str, item.get("prefix", ""))
        upstream = _typecheck(f"{where}.upstream", str, item.get("upstream", ""))
        timeout_s = _typecheck(f"{where}.timeout_s", float, item.get("timeout_s", 30.0))
        max_connections = _typecheck(
            f"{where}.max_connections", int, item.get("max_connections", 100)
        )
        if timeout_s <= 0 or max_connections <= 0:
            raise ConfigError(f"{where}.timeout_s and .max_connections must be above 0")
        if not prefix.startswith("/"):
            raise ConfigError(f"{where}.prefix must start with '/', not {prefix!r}")
        if not upstream.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.upstream must be an http or https URL, not {upstream!r}")
        routes.append(
            Route(
                prefix=prefix.rstrip("/") or "/",
                upstream=upstream.rstrip("/"),
                timeout_s=timeout_s,
                max_connections=max_connections,
            )
        )
    # Longest prefix first, so /api/v2 wins over /api.
    return tuple(sorted(routes, key=lambda r: len(r.prefix), reverse=True))


def _connections(value: Any) -> dict[str, Connection]:
    if not isinstance(value, dict):
        raise ConfigError("[connections] must be a table of tables")
    out = {}
    for name, item in value.items():
        where = f"connections.{name}"
        if not isinstance(item, dict):
            raise ConfigError(f"[{where}] must be a table")
        for key in item:
            if key not in ("headers", "basic", "bearer_env"):
                raise ConfigError(f"unknown key {where}.{key} (known: basic, bearer_env, headers)")
        headers = item.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise ConfigError(f"{where}.headers must be a table of strings")
        basic = item.get("basic", {})
        if not isinstance(basic, dict) or set(basic) - {"user", "password_env"}:
            raise ConfigError(f"{where}.basic takes user and password_env")
        out[name] = Connection(
            headers=tuple(headers.items()),
            basic_user=_typecheck(f"{where}.basic.user", str, basic.get("user", "")),
            basic_password_env=_typecheck(
                f"{where}.basic.password_env", str, basic.get("password_env", "")
            ),
            bearer_env=_typecheck(f"{where}.bearer_env", str, item.get("bearer_env", "")),
        )
    return out


def _services(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ConfigError("[services] must be a table of tables")
    out: dict[str, dict[str, Any]] = {}
    for name, item in value.items():
        if not isinstance(item, dict):
            raise ConfigError(f"[services.{name}] must be a table")
        known = SERVICE_SETTINGS.get(name)
        if known is not None:
            for key, v in item.items():
                if key not in known:
                    raise ConfigError(f"unknown key services.{name}.{key}")
                kind = known[key][0]
                _typecheck(f"services.{name}.{key}", str if kind is Path else kind, v)
        out[name] = dict(item)
    return out


def _check(config: Config) -> None:
    g = config.gateway
    for key in ("port",):
        if not 0 <= getattr(g, key) <= 65535:
            raise ConfigError(f"gateway.{key} must be a port number")
    if not 0 <= config.admin.port <= 65535:
        raise ConfigError("admin.port must be a port number")
    for origin in config.admin.origins:
        if not ORIGIN_RE.fullmatch(origin):
            raise ConfigError(
                f"admin.origins: {origin!r} is not an origin (scheme://host[:port], no path)"
            )
    positive = {
        "gateway.max_header_bytes": g.max_header_bytes,
        "gateway.max_body_bytes": g.max_body_bytes,
        "gateway.max_stages": g.max_stages,
        "gateway.max_args": g.max_args,
        "gateway.stage_timeout_s": g.stage_timeout_s,
        "gateway.stage_memory_bytes": g.stage_memory_bytes,
        "gateway.header_timeout_s": g.header_timeout_s,
        "gateway.body_timeout_s": g.body_timeout_s,
        "gateway.max_connections": g.max_connections,
        "gateway.header_cache_bytes": g.header_cache_bytes,
        "gateway.workers": g.workers,
        "appserver.count": config.appserver.count,
        "assembler.fetch_max_bytes": config.assembler.fetch_max_bytes,
        "assembler.fetch_timeout_s": config.assembler.fetch_timeout_s,
        "assembler.fetch_cache": config.assembler.fetch_cache,
    }
    for where, v in positive.items():
        if v <= 0:
            raise ConfigError(f"{where} must be above 0, not {v}")
    if config.telemetry.exporter not in ("", "console", "otlp"):
        raise ConfigError(
            f"telemetry.exporter must be '', 'console' or 'otlp', not {config.telemetry.exporter!r}"
        )
    if g.log_format not in ("text", "json"):
        raise ConfigError(f"gateway.log_format must be 'text' or 'json', not {g.log_format!r}")
    if g.workers > MAX_WORKERS:
        raise ConfigError(
            f"gateway.workers must be at most {MAX_WORKERS} (one a core is plenty), not {g.workers}"
        )
    _check_dsn(config)
    _check_tls(config)
    p = config.purge
    if p.cron:
        try:
            cron_trigger(p.cron)
        except ValueError as e:
            raise ConfigError(f"purge.cron is not a cron expression: {e}") from None
    if config.service_settings("logger")["max_files"] < 1:
        raise ConfigError("services.logger.max_files must be above 0")
    for where, v in {
        "purge.interval_s": p.interval_s,
        "purge.max_idle_s": p.max_idle_s,
        "purge.max_apps": p.max_apps,
        "purge.max_bytes": p.max_bytes,
        "audit.keep_days": config.audit.keep_days,
    }.items():
        if v < 0:
            raise ConfigError(f"{where} must be 0 or more, not {v}")
    for where, v in {"purge.interval_s": p.interval_s, "purge.max_idle_s": p.max_idle_s}.items():
        if v > MAX_SECONDS:
            raise ConfigError(f"{where} must be at most {MAX_SECONDS} (a hundred years), not {v}")
