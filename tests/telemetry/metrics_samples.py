"""Reading a gateway's /metrics in tests: the samples parsed by prometheus-client's own parser,
and picked by name and labels."""

from __future__ import annotations

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scrape-token-0123456789"  # noqa: S105 - a test's
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base_url: str, bearer: str | None = TOKEN) -> httpx.Response:
    headers = {} if bearer is None else {"authorization": f"Bearer {bearer}"}
    root = base_url.removesuffix("/v1")
    return httpx.get(f"{root}/metrics", headers=headers, timeout=10)


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def pick(found: Samples, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of `name` whose labels include `labels`."""
    return {
        key: value
        for (sample, key), value in found.items()
        if sample == name and all((k, v) in key for k, v in labels.items())
    }


def total(found: Samples, name: str, **labels: str) -> float:
    return sum(pick(found, name, **labels).values())
