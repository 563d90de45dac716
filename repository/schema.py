"""The repository's schema, as the steps that build it: SQLite's (PRAGMA user_version) and
PostgreSQL's (a `schema_version` table)."""

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

# PostgreSQL's schema (schema_version's one row), the same tables as SQLite's MIGRATIONS
# leave: text in byte order ("C") as SQLite compares it, booleans where SQLite keeps 0 or 1.
# Each change to entries, clients and settings is announced on CHANNEL by a row trigger,
# at commit, to the other nodes' change feeds (repository.changefeed).
POSTGRES_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE imports (
            id text COLLATE "C" PRIMARY KEY,
            kind text NOT NULL,
            url text,
            document text NOT NULL,
            base_url text,
            prefix text,
            version text,
            created text COLLATE "C" NOT NULL,
            options text NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE entries (
            id text COLLATE "C" PRIMARY KEY,
            name text COLLATE "C" NOT NULL,
            kind text NOT NULL,
            enabled boolean NOT NULL,
            converter boolean NOT NULL,
            origin text NOT NULL CHECK (origin IN ('api', 'builtin', 'file', 'import')),
            import_id text COLLATE "C" REFERENCES imports (id) ON DELETE CASCADE,
            source text,
            data text NOT NULL,
            CHECK ((origin = 'import') = (import_id IS NOT NULL))
        )""",
        "CREATE INDEX entries_by_name ON entries (name)",
        "CREATE INDEX entries_by_import ON entries (import_id)",
        """CREATE TABLE seeded (id text COLLATE "C" PRIMARY KEY)""",
        """CREATE TABLE settings (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)""",
        """CREATE TABLE clients (
            id text COLLATE "C" PRIMARY KEY,
            name text NOT NULL,
            secret_hash text NOT NULL,
            data text NOT NULL,
            created text COLLATE "C" NOT NULL,
            secret_created text NOT NULL
        )""",
        # TG_ARGV: the table's letter in a note, its key column. The id is left out of a
        # note it would push past NOTIFY's 8000 bytes (the feed then says `partial`). The
        # writing session's own temporary `touched`, if it has one, gets the entries' ids
        # (the repository's index, kept current by its own writes).
        """CREATE FUNCTION igw_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            writer text := coalesce(current_setting('igw.origin', true), '');
            keys text[] := '{}';
            row_key text;
            note text;
        BEGIN
            IF TG_OP <> 'DELETE' THEN
                keys := keys || (to_jsonb(NEW) ->> TG_ARGV[1]);
            END IF;
            IF TG_OP <> 'INSERT' THEN
                keys := keys || (to_jsonb(OLD) ->> TG_ARGV[1]);
            END IF;
            FOREACH row_key IN ARRAY keys LOOP
                IF TG_ARGV[0] = 'e' AND to_regclass('pg_temp.touched') IS NOT NULL THEN
                    INSERT INTO pg_temp.touched (id) VALUES (row_key) ON CONFLICT DO NOTHING;
                END IF;
                note := json_build_object('o', writer, 't', TG_ARGV[0], 'id', row_key)::text;
                IF octet_length(note) > 7900 THEN
                    note := json_build_object('o', writer, 't', TG_ARGV[0])::text;
                END IF;
                PERFORM pg_notify('integration_gateway', note);
            END LOOP;
            RETURN NULL;
        END
        $$""",
        """CREATE TRIGGER entries_changed AFTER INSERT OR UPDATE OR DELETE ON entries
            FOR EACH ROW EXECUTE FUNCTION igw_changed('e', 'id')""",
        """CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
            FOR EACH ROW EXECUTE FUNCTION igw_changed('c', 'id')""",
        """CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings
            FOR EACH ROW EXECUTE FUNCTION igw_changed('s', 'key')""",
    ),
)
POSTGRES_SCHEMA_VERSION = len(POSTGRES_MIGRATIONS)
CHANNEL = "integration_gateway"
