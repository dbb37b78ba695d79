"""Starting a run directory: the workloads read as one, the files a run keeps written before
any call (the experiment as resolved, the catalog entries it priced with, the lines as read,
copied a line at a time), and the hashes that let a resume tell that they are still what the
run started with.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import tomli_w

from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import ModelSpec
from laneway.replay.experiment import AS_WRITTEN, Cell, ExperimentConfig
from laneway.replay.run_dir import CATALOG, EXPERIMENT, MANIFEST, WORKLOAD, RunManifest
from laneway.replay.workload import Workload

EXPERIMENT_HASH = "experiment_sha256"
WORKLOAD_HASH = "workload_sha256"
CONFIG_FILE = "config_file"  # the gateway config file the run was given, if any
CONFIG_HASH = "config_sha256"


def read_workloads(paths: Sequence[str]) -> Workload:
    """The experiment's workloads as one, each file read once (every file checked; a custom_id
    used in two files is a problem too)."""
    return Workload.load_all([Path(name) for name in paths])


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


def call_models(cells: Sequence[Cell], line_models: Iterable[str]) -> set[str]:
    """The models a run's calls name: its cells', and the lines' own (`line_models`) for the
    as-written baseline."""
    models = {cell.model for cell in cells if cell.model != AS_WRITTEN}
    if any(cell.model == AS_WRITTEN for cell in cells):
        models |= set(line_models)
    return models


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def write_files(
    run_dir: Path, manifest: RunManifest, files: dict[str, bytes], workload: Workload
) -> Workload:
    """The run's files and its workload's lines (copied, streamed, as workload.jsonl), then its
    manifest last (atomically): a directory with a manifest is a run whose files are all there.
    The workload as the run directory holds it, for the run to read its lines from."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (run_dir / name).write_bytes(data)
    copy = run_dir / WORKLOAD
    workload.copy_to(copy)
    write_manifest(run_dir, manifest)
    return replace(workload, source=str(copy), paths=(copy,))


def write_manifest(run_dir: Path, manifest: RunManifest) -> None:
    temporary = run_dir / f".{MANIFEST}.tmp"
    with temporary.open("wb") as file:
        file.write(manifest.to_json())
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(run_dir / MANIFEST)


RUN_FILES = (EXPERIMENT, CATALOG, WORKLOAD)
