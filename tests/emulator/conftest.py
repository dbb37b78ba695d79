"""A live emulator on loopback and official-SDK clients in strict validation mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from laneway.emulator.config import EmulatorConfig, KeyRule
from laneway.emulator.server import EmulatorServer
from laneway.pricing.model_spec import TierLimit
from tests.sdk import sdk

RESTRICTED_KEY = "sk-restricted-to-mini"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        seed=7,
        speed=0,
        tier="none",
        # A tight limit on one model so rate limiting is testable without touching the others.
        rate_limits={"gpt-5.4-nano": TierLimit(rpm=3, tpm=1_000_000)},
        keys={RESTRICTED_KEY: KeyRule(models=("gpt-5.4-mini",))},
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[OpenAI]:
    with sdk(emulator.base_url) as openai_client:
        yield openai_client
