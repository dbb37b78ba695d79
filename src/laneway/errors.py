"""laneway's exception tree.

Every error laneway raises on purpose derives from `LanewayError`, so a library caller catches
them all with one clause. Each class declares `status`, the HTTP status an API client gets for it
(None: not an answer to an API call), and `code`, OpenAI's `code` field; `ApiError` and
`HttpError` carry their own per instance, and an `ApiError` that relays an upstream's error
carries the upstream's. The server answers any of them in OpenAI's error shape with that status
(`laneway.wire.errors.as_api_error`); anything else is a bug, answered 500 and logged.

    LanewayError                       status  where                       what
    ├── ConfigError                    -       errors                      a config file is wrong
    ├── CatalogError                   -       errors                      a catalog file is wrong
    ├── UnknownModelError              404     errors                      not in the catalog
    ├── UsageError                     400     errors                      impossible token counts
    ├── WorkloadError                  -       errors                      a workload's bad lines
    ├── ApiError                       own     wire.errors                 an answer in OpenAI's
    │   │                                                                  error shape
    │   ├── InactiveKey                own     server.auth                 a revoked or expired
    │   │                                                                  key (401), identified
    │   └── EchoedKey                  own     emulator.faults             the echo_key fault,
    │                                                                      before it quotes a key
    ├── HttpError                      own     http.messages               unreadable HTTP (400),
    │                                                                      too large (413, 431)
    ├── CutStream                      -       http.messages               a handler cuts its
    │                                                                      stream on purpose
    ├── UpstreamFailure                502/504 upstream.transport          no complete answer
    │   ├── NotSent                                                        nothing reached it
    │   ├── NoAnswer                                                       sent, no head back
    │   └── BodyBroken                                                     the body stopped
    ├── LedgerUnavailable              503     ledger.repository           the ledger is down
    ├── BillError                      -       ledger.provider_bill        a provider's bill
    │                                                                      cannot be read
    ├── QuotaUnavailable               503     quota.state                 shared limits are down
    │   └── QuotaResyncing             503                                 re-seeding after a loss
    ├── Lapse                          -       quota.redis_link            a Redis link failed
    │                                                                      (becomes the above)
    ├── SchemaError                    -       schema.errors               a store's schema
    │   ├── SchemaTooNew               -                                   a newer laneway's
    │   └── SchemaPending              -                                   behind (--check only)
    ├── VirtualKeyError                400     keys.store                  virtual keys
    │   ├── KeyFieldError              400                                 a bad field value
    │   ├── KeyExists                  409                                 the name is taken
    │   ├── KeyNameRetired             409                                 a revoked key's name
    │   ├── KeyNotFound                404                                 no such key
    │   ├── KeyRevoked                 409                                 revoked already
    │   ├── PrefixInUse                409                                 a prefix collision
    │   ├── KeyStoreError              503                                 the store is down
    │   └── RevocationError            503     keys.revocations            cannot announce
    ├── EmulatorConfigError            -       emulator.config             emulator settings
    ├── PriceListError                 -       emulator.price_list         its price file
    ├── GraderError                    -       replay.graders              cannot grade it
    │   └── JudgeReplyError            -       replay.judges.replies       a judge's answer is
    │                                                                      not the verdict asked
    ├── JudgeCallError                 -       replay.judges.asking        a judge call gave no
    │                                                                      answer (kept as a
    │                                                                      grader error)
    ├── RunDirError                    -       replay.run_dir              a run directory in
    │                                                                      use, changed, damaged
    ├── RunCapError                    -       replay.spend_cap            a run's worst case
    │                                                                      over its spend cap
    ├── ApplyError                     -       replay.apply                a recommendation
    │                                                                      that cannot be applied
    ├── RunKeyError                    -       replay.runner               a run's key revoked
    │                                                                      or expired
    ├── EmulatorStartError             -       replay.emulator_process     a run's emulator did
    │                                                                      not start
    ├── TuneError                      -       replay.tune_runs            an effort tuning that
    │   │                                                                  cannot start or go on
    │   └── TuneCapError               -       replay.tune_runs            the spend cap stopped
    │                                                                      it (resumable)
    ├── DiffError                      -       replay.diff                 two runs that cannot
    │                                                                      be compared
    ├── UnsupportedSchema              -       emulator.schema_values      a schema it cannot fill
    ├── CaptureStoreError              503     ledger.captures             captures unreachable
    ├── ExportFailed                   -       telemetry.span_export       a batch of spans not
    │                                                                      delivered (counted)
    ├── SnapshotError                  -       telemetry.metrics_snapshot  a worker's metrics
    │                                                                      file unreadable
    │                                                                      (skipped, logged)
    ├── WorkloadFileError              -       workloads.lines             a workload file the
    │                                                                      tools cannot use
    ├── SampleError                    -       workloads.sample            a sample or split
    │                                                                      that cannot be made
    └── CliError                       - (exit 2) cli.errors               what the user typed
        └── JsonLinesError             - (exit 2) cli.errors               the same, written
                                                                           as JSON lines
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class LanewayError(Exception):
    """Base class of every error laneway raises deliberately."""

    # The HTTP status an API client gets for it (None: not an answer to an API call, e.g. a
    # start-up or command-line error), and OpenAI's `code` field to send with it.
    status: int | None = None
    code: str | None = None


@dataclass(frozen=True)
class CatalogProblem:
    """One defect in a catalog file: where it is and what is wrong."""

    file: Path
    entry: str | None  # the model id, or None for a file-level problem
    field: str | None  # dotted path inside the entry, e.g. "prices.input"
    message: str

    def __str__(self) -> str:
        where = str(self.file)
        if self.entry is not None:
            where += f": model {self.entry!r}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class CatalogError(LanewayError):
    """A catalog file could not be loaded; lists every problem found, each fully located."""

    def __init__(self, problems: Sequence[CatalogProblem]) -> None:
        self.problems = tuple(problems)
        lines = [str(p) for p in self.problems]
        head = "invalid model catalog: " + lines[0]
        if len(lines) > 1:
            head += f" (and {len(lines) - 1} more: " + "; ".join(lines[1:]) + ")"
        super().__init__(head)


class UnknownModelError(LanewayError, LookupError):
    """The catalog holds no model with this id or alias."""

    status = 404
    code = "model_not_found"

    def __init__(self, model: str, suggestions: Sequence[str] = ()) -> None:
        self.model = model
        self.suggestions = tuple(suggestions)
        message = f"unknown model {model!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(message)


class WorkloadError(LanewayError):
    """A replay workload could not be read: every bad line, each with its number and custom_id
    (`problems`), found before any call is made."""

    def __init__(self, source: str, problems: Sequence[object]) -> None:
        self.source = source
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:_SHOWN])
        more = len(self.problems) - _SHOWN
        tail = f"; and {more} more" if more > 0 else ""
        super().__init__(f"{source}: {len(self.problems)} bad line(s): {shown}{tail}")


_SHOWN = 20  # problems named in the one-line message; all are in `problems`


class ConfigError(LanewayError):
    """A gateway config file is malformed; the message names the file and the field."""


class UsageError(LanewayError, ValueError):
    """Token counts that no real request could produce (negative, cached above input, ...)."""

    status = 400
