"""The key store's schema, step by step, in SQLite and in PostgreSQL (see laneway.schema.steps).

Same steps, numbers and columns in both lists (tests/schema checks); types differ as each backend
keeps values: budgets as exact TEXT or NUMERIC, lanes and models as a JSON array or a text
array. Names are unique among keys that are not revoked, in the database itself. A change is a
new step at the end of both lists (docs/operations.md).
"""

from __future__ import annotations

from laneway.schema.steps import Step, StoreSchema

# Constraint and index names the PostgreSQL store tells its errors apart by.
LIVE_NAME = "virtual_keys_live_name"
UNIQUE_PREFIX = "virtual_keys_prefix_unique"

SQLITE = StoreSchema(
    "keys",
    "sqlite",
    (
        Step(
            1,
            "virtual_keys table",
            (
                """CREATE TABLE virtual_keys (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL UNIQUE,
                    digest TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    expires_at REAL,
                    revoked_at REAL,
                    rpm INTEGER,
                    tpm INTEGER,
                    budget_day TEXT,
                    budget_month TEXT,
                    budget_lifetime TEXT,
                    lanes TEXT NOT NULL,
                    models TEXT NOT NULL
                )""",
                f"CREATE UNIQUE INDEX {LIVE_NAME} ON virtual_keys (name) WHERE revoked_at IS NULL",
                "CREATE INDEX virtual_keys_updated ON virtual_keys (updated_at)",
            ),
        ),
        Step(
            2,
            "passthrough column (the key may use the allowed passthrough paths)",
            ("ALTER TABLE virtual_keys ADD COLUMN passthrough INTEGER NOT NULL DEFAULT 0",),
        ),
    ),
)

POSTGRES = StoreSchema(
    "keys",
    "postgres",
    (
        Step(
            1,
            "virtual_keys table",
            (
                f"""CREATE TABLE virtual_keys (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL CONSTRAINT {UNIQUE_PREFIX} UNIQUE,
                    digest TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION,
                    revoked_at DOUBLE PRECISION,
                    rpm BIGINT,
                    tpm BIGINT,
                    budget_day NUMERIC,
                    budget_month NUMERIC,
                    budget_lifetime NUMERIC,
                    lanes TEXT[] NOT NULL,
                    models TEXT[] NOT NULL
                )""",
                f"CREATE UNIQUE INDEX {LIVE_NAME} ON virtual_keys (name) WHERE revoked_at IS NULL",
                "CREATE INDEX virtual_keys_updated ON virtual_keys (updated_at)",
            ),
        ),
        Step(
            2,
            "passthrough column (the key may use the allowed passthrough paths)",
            ("ALTER TABLE virtual_keys ADD COLUMN passthrough BOOLEAN NOT NULL DEFAULT FALSE",),
        ),
    ),
)
