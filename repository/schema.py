"""The repository's SQLite schema, as the steps that build it (PRAGMA user_version)."""

from __future__ import annotations

# Each step takes the schema from version i to i + 1 (PRAGMA user_version); append only.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE imports (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            url TEXT,
            document TEXT NOT NULL,
            base_url TEXT,
            prefix TEXT,
            version TEXT,
            created TEXT NOT NULL
        )""",
        """CREATE TABLE entries (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            converter INTEGER NOT NULL CHECK (converter IN (0, 1)),
            origin TEXT NOT NULL CHECK (origin IN ('api', 'builtin', 'file', 'import')),
            import_id TEXT REFERENCES imports (id) ON DELETE CASCADE,
            source TEXT,
            data TEXT NOT NULL,
            CHECK ((origin = 'import') = (import_id IS NOT NULL))
        )""",
        "CREATE INDEX entries_by_name ON entries (name)",
        "CREATE INDEX entries_by_import ON entries (import_id)",
        "CREATE TABLE seeded (id TEXT PRIMARY KEY)",
    ),
    # Operator settings made through the admin API (the purge policy), JSON by key.
    ("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",),
    # Clients (SPEC §9): the secret only as its argon2 hash; the integration's record in data.
    (
        """CREATE TABLE clients (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            data TEXT NOT NULL,
            created TEXT NOT NULL,
            secret_created TEXT NOT NULL
        )""",
    ),
    # What else an import was made with (OpenAPI's server_url, documents...), as JSON.
    ("ALTER TABLE imports ADD COLUMN options TEXT NOT NULL DEFAULT '{}'",),
)
SCHEMA_VERSION = len(MIGRATIONS)
