"""Starting a run directory: the workloads read and joined, the files a run keeps written before
any call (the experiment as resolved, the catalog entries it priced with, the lines as read),
and the hashes that let a resume tell that they are still what the run started with.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from laneway.errors import WorkloadError
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import ModelSpec
from laneway.replay.experiment import AS_WRITTEN, Cell, ExperimentConfig
from laneway.replay.run_dir import CATALOG, EXPERIMENT, MANIFEST, WORKLOAD, RunManifest
from laneway.replay.workload import Workload

EXPERIMENT_HASH = "experiment_sha256"
WORKLOAD_HASH = "workload_sha256"


def read_workloads(paths: Sequence[str]) -> tuple[Workload, bytes]:
    """The experiment's workloads as one (every file checked; a custom_id used in two files is
    a problem too), and their lines as read, for workload.jsonl."""
    lines = []
    raw: list[bytes] = []
    seen: dict[str, str] = {}
    problems: list[str] = []
    for name in paths:
        workload = Workload.load(Path(name))
        raw += _lines_of(Path(name))
        for line in workload.lines:
            earlier = seen.setdefault(line.custom_id, name)
            if earlier != name:
                problems.append(
                    f"{name} line {line.number}: custom_id {line.custom_id!r} "
                    f"is used in {earlier} too"
                )
            lines.append(line)
    if problems:
        raise WorkloadError(", ".join(paths), problems)
    return Workload(", ".join(paths), tuple(lines)), b"".join(raw)


def _lines_of(path: Path) -> list[bytes]:
    with path.open("rb") as file:
        return [raw if raw.endswith(b"\n") else raw + b"\n" for raw in file if raw.strip()]


def experiment_toml(experiment: ExperimentConfig) -> bytes:
    """The experiment as resolved, as TOML that loads back to it."""
    value = experiment.model_dump(mode="json", exclude_none=True)
    return tomli_w.dumps(value).encode()


def catalog_toml(catalog: Catalog, models: Iterable[str]) -> bytes:
    """The catalog entries of `models` (those it has) and their successors, as a catalog file
    that loads alone."""
    entries: dict[str, Any] = {}
    waiting = sorted(set(models))
    while waiting:
        spec = catalog.find(waiting.pop())
        if spec is None or spec.id in entries:
            continue
        entries[spec.id] = _entry(spec)
        if spec.successor is not None:  # named by the entry: it must load beside it
            waiting.append(spec.successor)
    heading = "# The catalog entries this run priced with, as loaded.\n"
    return (heading + tomli_w.dumps({"models": dict(sorted(entries.items()))})).encode()


def _entry(spec: ModelSpec) -> dict[str, Any]:
    value: dict[str, Any] = spec.model_dump(mode="python", exclude={"id"})
    if value.get("successor") is None:
        value.pop("successor", None)
    if spec.kind == "embedding":  # the fields it has none of are filled in on loading
        for name in ("max_output_tokens", "reasoning_efforts", "capabilities", "knowledge_cutoff"):
            value.pop(name, None)
        value["prices"] = {"input": value["prices"]["input"]}
    return {key: _written(item) for key, item in value.items()}


def _written(value: Any) -> Any:
    """A dumped value as the catalog writes it: None as "unknown", money as exact text."""
    if value is None:
        return "unknown"
    if isinstance(value, dict):
        return {key: _written(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_written(item) for item in value]
    if isinstance(value, int | str | bool) or hasattr(value, "isoformat"):
        return value
    return str(value)  # Decimal


def call_models(cells: Sequence[Cell], workload: Workload) -> set[str]:
    """The models a run's calls name: its cells', and each line's own for the as-written
    baseline."""
    models = {cell.model for cell in cells if cell.model != AS_WRITTEN}
    if any(cell.model == AS_WRITTEN for cell in cells):
        models |= {str(line.body["model"]) for line in workload.lines}
    return models


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_files(run_dir: Path, manifest: RunManifest, files: dict[str, bytes]) -> None:
    """The run's files, then its manifest last (atomically): a directory with a manifest is a
    run whose files are all there."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (run_dir / name).write_bytes(data)
    write_manifest(run_dir, manifest)


def write_manifest(run_dir: Path, manifest: RunManifest) -> None:
    temporary = run_dir / f".{MANIFEST}.tmp"
    with temporary.open("wb") as file:
        file.write(manifest.to_json())
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(run_dir / MANIFEST)


RUN_FILES = (EXPERIMENT, CATALOG, WORKLOAD)
