"""Running an experiment: every (line, repeat, cell) call through laneway's own gateway,
in-process, each row on disk before it counts, the spend cap held through reservations, and a
stopped run resumable without making any complete call again.

    outcome = await run(experiment, RunSettings(Path("runs/r1")), config)
    outcome = await resume(Path("runs/r1"), config)          # after Ctrl-C, a kill, the cap

Calls go line by line (each line's repeats, each repeat's cells), so a run stopped early has
balanced cells; at most `concurrency` are in flight, taken by a fixed pool of workers from one
generator (nothing per call is made up front). The upstream is the configured providers, OpenAI
when $OPENAI_API_KEY is set, else an emulator in a process of its own. Model fallbacks are off
unless asked for, so a cell measures its model. Records are charged to the key named by
`RunSettings.key`: the key store's virtual key of that name (its limits and budgets apply), else
the fixed id "replay:<name>"; each is tagged with the run (ledger `run_id`) and its cell
(annotation `replay-cell`), and kept out of traffic figures.

Memory does not grow with the workload's bodies: its lines are read from the run directory's
workload.jsonl one at a time as workers take calls (a worker holds only its call's line); per
line the run keeps its custom_id's place and the plan's pricing facts (a few numbers), per call
a byte of each of two bitmaps (done, in flight when an earlier invocation stopped), and rows
stream to disk.
A call whose worst case is unknown (a run told to start over an unbounded plan) reserves
nothing against the cap: only its exact cost, once known, is charged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from laneway.assembly import Assembly, Upstream
from laneway.clock import Clock, SystemClock
from laneway.config import GatewayConfig
from laneway.errors import ConfigError, LanewayError
from laneway.gateway.client import Client
from laneway.gateway.observers import Exchange, Observer
from laneway.keys.model import VirtualKey
from laneway.keys.store import KeyStore
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import TIERS
from laneway.replay.call_cache import CallCache
from laneway.replay.calls import Call, Caller
from laneway.replay.costs import CallPricer, charge_of, cost_unknown
from laneway.replay.experiment import ExperimentConfig
from laneway.replay.judges import GatewayAsk, build_judge
from laneway.replay.judging import Judging
from laneway.replay.plan import PreparedRun, RunPlan, plan_run, prepare
from laneway.replay.python_grader import PythonGrader
from laneway.replay.results_writer import ResultsWriter
from laneway.replay.rows import ResultRow
from laneway.replay.run_dir import (
    CATALOG,
    EXPERIMENT,
    WORKLOAD,
    RunDir,
    RunDirError,
    RunManifest,
    new_run_id,
)
from laneway.replay.run_settings import RunSettings
from laneway.replay.run_setup import (
    CONFIG_FILE,
    CONFIG_HASH,
    EXPERIMENT_HASH,
    WORKLOAD_HASH,
    call_models,
    catalog_toml,
    experiment_toml,
    file_sha256,
    sha256,
    write_files,
    write_manifest,
)
from laneway.replay.run_upstream import RunUpstream
from laneway.replay.spend_cap import RunCapError, SpendCap
from laneway.replay.workload import Workload

__all__ = ["RunEvents", "RunKeyError", "RunOutcome", "RunSettings", "resume", "run"]

CELL_ANNOTATION = "replay-cell"
JUDGE_CELL = "judge"  # the cell annotation of a judge's calls
_ZERO = Decimal(0)


class RunKeyError(LanewayError):
    """The key a run is charged to cannot be used (revoked or expired)."""


class RunEvents(Protocol):
    """What a progress display is told; called on the event loop, so quick."""

    def run_started(
        self, manifest: RunManifest, plan: RunPlan, done: int, spent_usd: Decimal
    ) -> None: ...

    def row_done(self, row: ResultRow) -> None: ...

    def run_ended(self, outcome: RunOutcome) -> None: ...


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_dir: Path
    manifest: RunManifest
    completed: int  # rows on disk at the end
    made_now: int  # calls completed by this invocation
    resumed_from: int  # rows already on disk when it began
    repeated: int  # calls in flight when an earlier invocation stopped, made again now
    stopped: str | None  # why it ended short; None when every call is done
    spent_usd: Decimal  # exact spend over all rows with a known cost
    unknown_costs: int  # rows whose cost is unknown (not in spent_usd)
    elapsed_s: float  # this invocation's wall time
    reused: int = 0  # rows served from the call cache (no call made; not in spent_usd)
    judge_spent_usd: Decimal = Decimal(0)  # what the judges' calls cost (known costs), apart


async def run(
    experiment: ExperimentConfig,
    settings: RunSettings,
    config: GatewayConfig,
    *,
    events: RunEvents | None = None,
    upstream: Upstream | None = None,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    prepared: PreparedRun | None = None,
) -> RunOutcome:
    """Start a run in `settings.run_dir` (new or empty). Refused before any call: a bad
    workload (WorkloadError), an unknown model (UnknownModelError), a grader that does not
    load (GraderError), a worst case over the cap (RunCapError, unless `over_cap`), a run
    directory in use (RunDirError; the same experiment's: resume it). `prepared`: the
    experiment already read and planned (`prepare`), so it is not read twice."""
    clock = clock or SystemClock()
    if settings.tier is not None and settings.tier not in TIERS:
        raise ConfigError(f"tier {settings.tier!r}: one of {', '.join(TIERS)}, or none")
    catalog = Catalog.load(*config.catalog)
    if prepared is None:
        prepared = prepare(experiment, catalog)
    elif prepared.experiment is not experiment:
        raise ValueError("run(): `prepared` is another experiment's")
    workload, plan = prepared.workload, prepared.plan
    if plan.over_cap and not settings.over_cap:
        raise RunCapError(_over_cap(plan))
    graders = [PythonGrader(reference) for reference in experiment.graders]
    models = _priced_models(experiment, plan)
    files = {EXPERIMENT: experiment_toml(experiment), CATALOG: catalog_toml(catalog, models)}
    _refuse_used(settings.run_dir, sha256(files[EXPERIMENT]), workload.sha256)
    with Assembly(config, env) as stores:
        await asyncio.to_thread(_run_key, stores.key_store, settings.key, clock.time())
    manifest = RunManifest(
        run_id=new_run_id(clock.time()),
        created_at=clock.time(),
        cells=tuple(p.cell for p in plan.cells),
        notes=plan.notes,
        repeats=experiment.repeats,
        concurrency=experiment.concurrency,
        spend_cap_usd=experiment.spend_cap_usd,
        key=settings.key,
        upstream=RunUpstream.describe(config, upstream, env),
        tier=settings.tier or RunUpstream.configured_tier(config, upstream, env),
        workloads=experiment.workloads,
        lines=workload.count,
        graders=experiment.graders,
        judges=tuple(judge.grader_name for judge in experiment.judges),
        extra=_settings_kept(experiment, settings, sha256(files[EXPERIMENT]), workload.sha256),
    )
    workload = write_files(settings.run_dir, manifest, files, workload)
    job = _Job(settings, manifest, experiment, workload, catalog, plan, graders, clock)
    return await job.execute(config, events, upstream, env)


async def resume(
    run_dir: Path,
    config: GatewayConfig,
    *,
    events: RunEvents | None = None,
    upstream: Upstream | None = None,
    env: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    spend_cap_usd: Decimal | None = None,
) -> RunOutcome:
    """Go on with a stopped run: calls with a row on disk are not made again; calls that were
    in flight when it stopped are (`repeated`). RunDirError when the directory is not a run, or
    its experiment or workload changed since it started. `spend_cap_usd`: a new cap for the
    whole run, spend so far included (kept in its manifest), e.g. to go on after the cap
    stopped it; None keeps the run's."""
    clock = clock or SystemClock()
    folder = RunDir(run_dir)
    manifest = folder.manifest()
    if spend_cap_usd is not None:
        manifest = replace(manifest, spend_cap_usd=spend_cap_usd)
        write_manifest(run_dir, manifest)
    for name, key in ((EXPERIMENT, EXPERIMENT_HASH), (WORKLOAD, WORKLOAD_HASH)):
        try:
            digest = file_sha256(folder.file(name))
        except FileNotFoundError:
            raise RunDirError(f"{run_dir}: {name} is missing; the run cannot resume") from None
        if digest != manifest.extra.get(key):
            raise RunDirError(
                f"{run_dir}/{name} changed since the run started: a resume would mix two "
                "experiments; start a new run instead"
            )
    experiment = ExperimentConfig.load(folder.file(EXPERIMENT))
    workload = Workload.load(folder.file(WORKLOAD))
    catalog = Catalog.load(*config.catalog)
    plan = plan_run(experiment, workload, catalog)
    _refuse_repriced(folder, experiment, catalog, plan)
    settings = RunSettings(
        run_dir,
        key=manifest.key,
        fallbacks=bool(manifest.extra.get("fallbacks", False)),
        over_cap=True,  # accepted when the run started
        tier=manifest.tier,
        emulator_speed=float(manifest.extra.get("emulator_speed", 0.0)),
        emulator_seed=int(manifest.extra.get("emulator_seed", 0)),
        reuse=Path(reused) if (reused := manifest.extra.get("reuse")) else None,
    )
    graders = [PythonGrader(reference) for reference in experiment.graders]
    job = _Job(settings, manifest, experiment, workload, catalog, plan, graders, clock)
    return await job.execute(config, events, upstream, env)


def _priced_models(experiment: ExperimentConfig, plan: RunPlan) -> set[str]:
    """The models whose catalog entries the run keeps: its calls' and its judges'."""
    calls = call_models([p.cell for p in plan.cells], plan.line_facts.models)
    return calls | {judge.model for judge in experiment.judges}


def _refuse_repriced(
    folder: RunDir, experiment: ExperimentConfig, catalog: Catalog, plan: RunPlan
) -> None:
    """A resume prices with the config's catalog, as the gateway records it; if that no longer
    says what the run started with (catalog.toml), the cells would be priced two ways."""
    kept = folder.file(CATALOG)
    models = _priced_models(experiment, plan)
    if kept.exists() and kept.read_bytes() != catalog_toml(catalog, models):
        raise RunDirError(
            f"{folder.path}: the catalog's entries for this run's models changed since it started "
            f"(see {CATALOG} in the run): a resume would price its rows two ways; restore them "
            "or start a new run"
        )


def _settings_kept(
    experiment: ExperimentConfig, settings: RunSettings, experiment_hash: str, workload_hash: str
) -> dict[str, object]:
    """What the manifest keeps beyond its fields: the hashes a resume checks, the settings it
    runs with again, the lane, and the config file's path and hash (`laneway replay apply`
    checks the file is unchanged)."""
    kept: dict[str, object] = {
        EXPERIMENT_HASH: experiment_hash,
        WORKLOAD_HASH: workload_hash,
        "fallbacks": settings.fallbacks,
        "emulator_speed": settings.emulator_speed,
        "emulator_seed": settings.emulator_seed,
        "reuse": None if settings.reuse is None else str(settings.reuse),
        "lane": experiment.lane,
    }
    path = settings.config_file
    if path is not None:
        kept |= {CONFIG_FILE: str(path.resolve()), CONFIG_HASH: file_sha256(path)}
    return kept


def _refuse_used(run_dir: Path, experiment_hash: str, workload_hash: str) -> None:
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir} is not a directory")
    if not any(run_dir.iterdir()):
        return
    try:
        manifest = RunDir(run_dir).manifest()
    except RunDirError:
        raise RunDirError(f"{run_dir} is not empty: give a new directory for a run") from None
    extra = manifest.extra
    if extra.get(EXPERIMENT_HASH) == experiment_hash and extra.get(WORKLOAD_HASH) == workload_hash:
        raise RunDirError(f"{run_dir} holds this experiment's run already: resume it instead")
    raise RunDirError(f"{run_dir} holds another run: give a new directory")


def _run_key(keys: KeyStore, name: str, now: float) -> VirtualKey | None:
    """The virtual key named `name`, if the store has one; RunKeyError when it is not active."""
    key = keys.find(name)
    if key is None or key.name != name:  # none, or found by id or prefix: not the key named
        return None
    status = key.status(now)
    if status != "active":
        raise RunKeyError(f"the run's key {name!r} is {status}; name another key for the run")
    return key


def _over_cap(plan: RunPlan) -> str:
    worst = "unknown" if plan.worst_usd is None else f"${plan.worst_usd}"
    return (
        f"the run's worst case ({worst}, {plan.calls} calls) exceeds its spend cap "
        f"(${plan.spend_cap_usd}); the cap would stop it part-way. Raise the cap, set "
        "max_output_tokens on the lines, or start anyway (over_cap / --over-cap)"
    )


@dataclass(slots=True)
class _Tally:
    """What the run has on disk, kept as rows are made durable."""

    in_flight_before: bytearray  # per call index: started, without a row, when this began
    done: bytearray  # per call index: has a row
    completed: int = 0
    made_now: int = 0
    repeated: int = 0
    spent_usd: Decimal = field(default_factory=Decimal)
    unknown_costs: int = 0
    reused: int = 0
    judge_spent_usd: Decimal = field(default_factory=Decimal)

    def add(self, row: ResultRow, index: int, now: bool) -> None:
        self.done[index] = 1
        self.completed += 1
        if now:
            self.made_now += 1
            self.repeated += self.in_flight_before[index]
        self.judge_spent_usd += row.judge_cost_usd or _ZERO
        if row.reused:
            self.reused += 1  # an earlier run's spend, not this one's
        elif row.cost_usd is not None:
            self.spent_usd += row.cost_usd
        elif cost_unknown(row):
            self.unknown_costs += 1


class _CellTag(Observer):
    """Annotates each record with its cell, told by which of the run's clients sent it."""

    def __init__(self) -> None:
        self.cells: dict[int, str] = {}

    def request_started(self, exchange: Exchange) -> None:
        label = self.cells.get(id(exchange.client))
        if label is not None and label.isascii() and label.isprintable():
            exchange.annotate(CELL_ANNOTATION, label)


class _Job:
    """One invocation of a run: from what is on disk to the outcome."""

    def __init__(
        self,
        settings: RunSettings,
        manifest: RunManifest,
        experiment: ExperimentConfig,
        workload: Workload,
        catalog: Catalog,
        plan: RunPlan,
        graders: Sequence[PythonGrader],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.manifest = manifest
        self.experiment = experiment
        self.workload = workload
        self.cells = manifest.cells
        self.plan = plan
        self.graders = graders
        self.clock = clock
        self.pricer = CallPricer(catalog)
        self.stopped: str | None = None
        size = workload.count * manifest.repeats * len(self.cells)
        self.tally = _Tally(bytearray(size), bytearray(size))
        self._cell_index = {cell.label: i for i, cell in enumerate(self.cells)}
        self._line_index = workload.positions

    def index(self, key: tuple[str, str, int]) -> int:
        cell, custom_id, repeat = key
        try:
            line, column = self._line_index[custom_id], self._cell_index[cell]
        except KeyError:
            raise RunDirError(
                f"{self.settings.run_dir}: a row names no call of this run: {key}"
            ) from None
        if not 0 <= repeat < self.manifest.repeats:
            raise RunDirError(f"{self.settings.run_dir}: a row's repeat is out of range: {key}")
        return (line * self.manifest.repeats + repeat) * len(self.cells) + column

    def _read_disk(self, cap: SpendCap) -> int:
        """Rows on disk counted (and charged to the cap); calls started without one noted."""
        folder = RunDir(self.settings.run_dir)
        tally = self.tally
        for row in folder.rows():
            index = self.index(row.key)
            if tally.done[index]:
                raise RunDirError(f"{folder.path}: two rows for one call: {row.key}")
            tally.add(row, index, now=False)
            worst = None
            if cost_unknown(row) or row.cost_basis == "abandoned":
                worst = self._worst(index)
            cap.charged_usd += charge_of(row, worst) + (row.judge_cost_usd or _ZERO)
        for key in folder.started():
            index = self.index(key)
            if not tally.done[index]:
                tally.in_flight_before[index] = 1
        return tally.completed

    def _worst(self, index: int) -> Decimal | None:
        """The worst case of the call at `index`, from its line's facts."""
        cells = len(self.cells)
        line = index // (cells * self.manifest.repeats)
        return self.pricer.worst(self.plan.line_facts[line], self.cells[index % cells])

    def pending(self) -> Generator[Call, None, None]:
        """The calls without a row, line by line (each read from disk as the workers get to
        it), priced from the plan's facts."""
        done, cells, repeats = self.tally.done, self.cells, self.manifest.repeats
        index = 0
        for line, facts in zip(self.workload.lines(), self.plan.line_facts, strict=True):
            for repeat in range(repeats):
                for cell in cells:
                    if not done[index]:
                        worst = self.pricer.worst(facts, cell)
                        yield Call(line, cell, repeat, index, worst)
                    index += 1

    async def execute(
        self,
        config: GatewayConfig,
        events: RunEvents | None,
        upstream: Upstream | None,
        env: Mapping[str, str] | None,
    ) -> RunOutcome:
        began = self.clock.monotonic()
        cap = SpendCap(self.manifest.spend_cap_usd)  # the experiment's, or a resume's own
        resumed_from = await asyncio.to_thread(self._read_disk, cap)
        if events is not None:
            events.run_started(self.manifest, self.plan, resumed_from, self.tally.spent_usd)
        tag = _CellTag()
        settings = self.settings
        async with RunUpstream(config, settings, upstream, env) as where:
            assembly = Assembly(
                _without_fallbacks(config) if not settings.fallbacks else config,
                where.env,
                upstream=where.upstream,
                clock=self.clock,
                observers=(tag,),
            )
            gateway = assembly.gateway
            try:
                await gateway.start()
                clients = await self._clients(assembly.key_store, tag)
                cache = None if settings.reuse is None else CallCache(settings.reuse)
                caller = Caller(gateway, clients, self.graders, self.clock, cache, where.identity())
                ask = GatewayAsk(gateway, clients[JUDGE_CELL], cap)
                judges = [build_judge(config, ask) for config in self.experiment.judges]
                judging = Judging(judges, len(self.cells) - 1)
                self._baselines_on_disk(judging)
                await self._work(caller, cap, events, judging)
            finally:
                await gateway.close()
        outcome = self._outcome(resumed_from, began)
        await asyncio.to_thread(self._note_invocation, outcome)
        if events is not None:
            events.run_ended(outcome)
        return outcome

    async def _clients(self, keys: KeyStore, tag: _CellTag) -> dict[str, Client]:
        """One client per cell (its identity tells the cell), all charged to the run's key."""
        name, run_id = self.settings.key, self.manifest.run_id
        key = await asyncio.to_thread(_run_key, keys, name, self.clock.time())
        if key is None:
            base = Client(f"replay:{name}", run=run_id)
        else:
            base = Client(key.id, key.default_lane, key, key.prefix, run=run_id)
        clients = {}
        for label in (*(cell.label for cell in self.cells), JUDGE_CELL):
            client = clients[label] = replace(base)
            tag.cells[id(client)] = label
        return clients

    def _baselines_on_disk(self, judging: Judging) -> None:
        """A resumed run's baseline answers its pairwise judges still need, read from disk."""
        if not judging.pairwise or not self.tally.completed:
            return
        baseline, cells, done = self.cells[0].label, len(self.cells), self.tally.done
        for row in RunDir(self.settings.run_dir).rows():
            if row.cell == baseline:
                first = self.index(row.key)  # the baseline's column is 0
                left = sum(not done[first + column] for column in range(1, cells))
                if left:
                    judging.baseline_answered(row.custom_id, row.repeat, row, left)

    async def _work(
        self, caller: Caller, cap: SpendCap, events: RunEvents | None, judging: Judging
    ) -> None:
        def durable(row: ResultRow) -> None:
            self.tally.add(row, self.index(row.key), now=True)
            if events is not None:
                events.row_done(row)

        writer = ResultsWriter(self.settings.run_dir, durable)
        calls = self.pending()
        workers = [
            asyncio.create_task(self._worker(calls, caller, cap, writer, judging))
            for _ in range(self.manifest.concurrency)
        ]
        try:
            await asyncio.gather(*workers)
        except asyncio.CancelledError:
            self.stopped = "interrupted"
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        finally:
            judging.close()
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            calls.close()  # its workload file with it
            await writer.close()

    async def _worker(
        self,
        calls: Iterator[Call],
        caller: Caller,
        cap: SpendCap,
        writer: ResultsWriter,
        judging: Judging,
    ) -> None:
        for call in calls:
            if self.stopped is not None:
                return
            worst = call.worst_usd if call.worst_usd is not None else _ZERO
            reservation = await cap.reserve(worst)
            if reservation is None:
                self.stopped = self.stopped or cap.refusal(worst)
                judging.close()  # no baseline still to come will be made
                return
            if self.stopped is not None:
                cap.settle(reservation, _ZERO)
                return
            writer.started((call.cell.label, call.line.custom_id, call.repeat))
            row = await caller.call(call)
            cap.settle(reservation, charge_of(row, call.worst_usd))
            baseline = call.cell.baseline
            if baseline:
                judging.baseline_answered(call.line.custom_id, call.repeat, row)
            # Judged holding no reservation: its own calls reserve theirs (GatewayAsk).
            row = await judging.judge(call.line, row, baseline)
            await writer.add(row)

    def _outcome(self, resumed_from: int, began: float) -> RunOutcome:
        tally = self.tally
        stopped = self.stopped
        if stopped is None and tally.completed < len(tally.done):
            stopped = "not every call was made"  # pragma: no cover - workers take every call
        return RunOutcome(
            run_dir=self.settings.run_dir,
            manifest=self.manifest,
            completed=tally.completed,
            made_now=tally.made_now,
            resumed_from=resumed_from,
            repeated=tally.repeated,
            stopped=stopped,
            spent_usd=tally.spent_usd,
            unknown_costs=tally.unknown_costs,
            elapsed_s=self.clock.monotonic() - began,
            reused=tally.reused,
            judge_spent_usd=tally.judge_spent_usd,
        )

    def _note_invocation(self, outcome: RunOutcome) -> None:
        """The manifest keeps each invocation's figures (`invocations` in extra), so a report
        made from the directory alone can say how many calls were repeated."""
        noted = list(self.manifest.extra.get("invocations", []))
        noted.append(
            {
                "ended_at": self.clock.time(),
                "resumed_from": outcome.resumed_from,
                "made_now": outcome.made_now,
                "repeated": outcome.repeated,
                "stopped": outcome.stopped,
            }
        )
        manifest = replace(self.manifest, extra={**self.manifest.extra, "invocations": noted})
        write_manifest(self.settings.run_dir, manifest)


def _without_fallbacks(config: GatewayConfig) -> GatewayConfig:
    """`config` with every model's fallbacks cleared: a cell measures the model it names."""
    models = {
        name: route.model_copy(update={"fallbacks": ()}) for name, route in config.models.items()
    }
    return config.model_copy(update={"models": models})
