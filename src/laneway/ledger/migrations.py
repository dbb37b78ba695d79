"""The ledger's schema, step by step, in SQLite and in PostgreSQL (see laneway.schema.steps).

The two lists have the same steps under the same numbers and leave the same columns in the same
order (tests/schema checks); only the types differ, as each backend keeps values: money as
exact TEXT or NUMERIC, times as REAL or DOUBLE PRECISION, flags as INTEGER or BOOLEAN. JSON
(attempts, route, annotations) is TEXT in both: jsonb would reorder a route's keys and refuses
the \\u0000 escape. A change is a new step at the end of both lists (docs/operations.md).
"""

from __future__ import annotations

from laneway.schema.steps import Step, StoreSchema

# Version 1 as the first release made it; the release of version 2 created its columns in one
# CREATE TABLE, in the order step 2 appends them.
SQLITE = StoreSchema(
    "ledger",
    "sqlite",
    (
        Step(
            1,
            "requests table",
            (
                """CREATE TABLE requests (
                    id TEXT PRIMARY KEY,
                    created_at REAL NOT NULL,
                    key_id TEXT,
                    endpoint TEXT NOT NULL,
                    requested_model TEXT NOT NULL,
                    stream INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    answering_model TEXT,
                    provider TEXT,
                    upstream_request_id TEXT,
                    attempts TEXT NOT NULL,
                    http_status INTEGER,
                    input_tokens INTEGER,
                    cached_input_tokens INTEGER,
                    cache_write_tokens INTEGER,
                    output_tokens INTEGER,
                    reasoning_tokens INTEGER,
                    cost_usd TEXT,
                    ttfb_ms REAL,
                    latency_ms REAL,
                    error TEXT,
                    settled_at REAL
                )""",
                "CREATE INDEX requests_created ON requests (created_at)",
                "CREATE INDEX requests_unsettled ON requests (status) WHERE status = 'reserved'",
            ),
        ),
        Step(
            2,
            "lanes: lane, route, pair_id and shadow columns",
            (
                "ALTER TABLE requests ADD COLUMN lane TEXT",
                "ALTER TABLE requests ADD COLUMN route TEXT",
                "ALTER TABLE requests ADD COLUMN pair_id TEXT",
                "ALTER TABLE requests ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0",
            ),
        ),
        Step(
            3,
            "annotations column (observers' notes on a record, JSON)",
            ("ALTER TABLE requests ADD COLUMN annotations TEXT",),
        ),
        Step(
            4,
            "refusals and cost basis: refusal, cost_basis, output_cap; unauthenticated table",
            (
                "ALTER TABLE requests ADD COLUMN refusal TEXT",
                "ALTER TABLE requests ADD COLUMN cost_basis TEXT",
                "ALTER TABLE requests ADD COLUMN output_cap INTEGER",
                """CREATE TABLE unauthenticated (
                    minute REAL NOT NULL,
                    reason TEXT NOT NULL,
                    client TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (minute, reason, client)
                )""",
            ),
        ),
        Step(
            5,
            "response_id (indexed) and path columns",
            (
                "ALTER TABLE requests ADD COLUMN response_id TEXT",
                "ALTER TABLE requests ADD COLUMN path TEXT",
                "CREATE INDEX requests_response ON requests (response_id) "
                "WHERE response_id IS NOT NULL",
            ),
        ),
        Step(
            6,
            "run_id column (indexed): a replay run's records, kept out of traffic figures",
            (
                "ALTER TABLE requests ADD COLUMN run_id TEXT",
                "CREATE INDEX requests_run ON requests (run_id) WHERE run_id IS NOT NULL",
            ),
        ),
        Step(
            7,
            "captures table: sampled requests and answers, redacted, as workload lines",
            (
                """CREATE TABLE captures (
                    id TEXT PRIMARY KEY,
                    created_at REAL NOT NULL,
                    lane TEXT,
                    record_id TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    requested_model TEXT NOT NULL,
                    answering_model TEXT,
                    effort TEXT,
                    request TEXT NOT NULL,
                    answer TEXT NOT NULL,
                    metadata TEXT
                )""",
                "CREATE INDEX captures_created ON captures (created_at)",
                "CREATE INDEX captures_lane ON captures (lane, created_at)",
            ),
        ),
        Step(
            8,
            "trace_id column: the request's W3C trace id when [tracing] is on",
            ("ALTER TABLE requests ADD COLUMN trace_id TEXT",),
        ),
    ),
)

POSTGRES = StoreSchema(
    "ledger",
    "postgres",
    (
        Step(
            1,
            "requests table",
            (
                """CREATE TABLE requests (
                    id TEXT PRIMARY KEY,
                    created_at DOUBLE PRECISION NOT NULL,
                    key_id TEXT,
                    endpoint TEXT NOT NULL,
                    requested_model TEXT NOT NULL,
                    stream BOOLEAN NOT NULL,
                    status TEXT NOT NULL,
                    answering_model TEXT,
                    provider TEXT,
                    upstream_request_id TEXT,
                    attempts TEXT NOT NULL,
                    http_status INTEGER,
                    input_tokens BIGINT,
                    cached_input_tokens BIGINT,
                    cache_write_tokens BIGINT,
                    output_tokens BIGINT,
                    reasoning_tokens BIGINT,
                    cost_usd NUMERIC,
                    ttfb_ms DOUBLE PRECISION,
                    latency_ms DOUBLE PRECISION,
                    error TEXT,
                    settled_at DOUBLE PRECISION
                )""",
                "CREATE INDEX requests_created ON requests (created_at)",
                # Oldest first is how unsettled records are read.
                "CREATE INDEX requests_unsettled ON requests (created_at) "
                "WHERE status = 'reserved'",
            ),
        ),
        Step(
            2,
            "lanes: lane, route, pair_id and shadow columns",
            (
                "ALTER TABLE requests ADD COLUMN lane TEXT",
                "ALTER TABLE requests ADD COLUMN route TEXT",
                "ALTER TABLE requests ADD COLUMN pair_id TEXT",
                "ALTER TABLE requests ADD COLUMN shadow BOOLEAN NOT NULL DEFAULT FALSE",
            ),
        ),
        Step(
            3,
            "annotations column (observers' notes on a record, JSON)",
            ("ALTER TABLE requests ADD COLUMN annotations TEXT",),
        ),
        Step(
            4,
            "refusals and cost basis: refusal, cost_basis, output_cap; unauthenticated table",
            (
                "ALTER TABLE requests ADD COLUMN refusal TEXT",
                "ALTER TABLE requests ADD COLUMN cost_basis TEXT",
                "ALTER TABLE requests ADD COLUMN output_cap BIGINT",
                """CREATE TABLE unauthenticated (
                    minute DOUBLE PRECISION NOT NULL,
                    reason TEXT NOT NULL,
                    client TEXT NOT NULL,
                    count BIGINT NOT NULL,
                    PRIMARY KEY (minute, reason, client)
                )""",
            ),
        ),
        Step(
            5,
            "response_id (indexed) and path columns",
            (
                "ALTER TABLE requests ADD COLUMN response_id TEXT",
                "ALTER TABLE requests ADD COLUMN path TEXT",
                "CREATE INDEX requests_response ON requests (response_id) "
                "WHERE response_id IS NOT NULL",
            ),
        ),
        Step(
            6,
            "run_id column (indexed): a replay run's records, kept out of traffic figures",
            (
                "ALTER TABLE requests ADD COLUMN run_id TEXT",
                "CREATE INDEX requests_run ON requests (run_id) WHERE run_id IS NOT NULL",
            ),
        ),
        Step(
            7,
            "captures table: sampled requests and answers, redacted, as workload lines",
            (
                """CREATE TABLE captures (
                    id TEXT PRIMARY KEY,
                    created_at DOUBLE PRECISION NOT NULL,
                    lane TEXT,
                    record_id TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    requested_model TEXT NOT NULL,
                    answering_model TEXT,
                    effort TEXT,
                    request TEXT NOT NULL,
                    answer TEXT NOT NULL,
                    metadata TEXT
                )""",
                "CREATE INDEX captures_created ON captures (created_at)",
                "CREATE INDEX captures_lane ON captures (lane, created_at)",
            ),
        ),
        Step(
            8,
            "trace_id column: the request's W3C trace id when [tracing] is on",
            ("ALTER TABLE requests ADD COLUMN trace_id TEXT",),
        ),
    ),
)
