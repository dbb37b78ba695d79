"""Bad input, client keys and the start-up guard: OpenAI-shaped errors, and the gateway goes on."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx2 as httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from laneway.assembly import Assembly
from laneway.clock import SystemClock
from laneway.config import ConfigError, GatewayConfig
from laneway.emulator.server import EmulatorServer
from laneway.keys.revocations import LocalRevocations
from laneway.keys.service import KeyService
from laneway.server.run import GatewayServer, check_exposure
from tests.gateway.conftest import Running, gateway_config, start
from tests.sdk import sdk

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
CHAT = {"model": "gpt-5.4-mini", "messages": MESSAGES}


def assert_openai_error(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert answer.headers["x-laneway-request-id"].startswith("req_")
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, None),
        (b"[1, 2]", 400, None),
        (b'{"messages": []}', 400, "missing_required_parameter"),
        (b'{"model": 5, "messages": []}', 400, "invalid_type"),
    ],
)
def test_bad_bodies(gateway: Running, body: bytes, status: int, code: str | None) -> None:
    answer = httpx.post(
        f"{gateway.base_url}/chat/completions",
        content=body,
        headers={"authorization": "Bearer x", "content-type": "application/json"},
    )
    assert assert_openai_error(answer, status)["code"] == code


def test_an_oversize_body_is_refused_with_413_and_the_server_goes_on(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    config = gateway_config(emulator, tmp_path / "l.db", server={"port": 0, "max_body_bytes": 1000})
    server, _ = start(config)
    with server:
        big = {"model": "gpt-5.4-mini", "input": "x" * 5000}
        answer = httpx.post(
            f"{server.base_url}/responses", json=big, headers={"authorization": "Bearer x"}
        )
        assert assert_openai_error(answer, 413)["code"] == "request_too_large"
        ok = httpx.post(
            f"{server.base_url}/chat/completions", json=CHAT, headers={"authorization": "Bearer x"}
        )
        assert ok.status_code == 200


def test_unknown_paths_and_methods_get_404(gateway: Running) -> None:
    assert_openai_error(httpx.get(f"{gateway.base_url}/nothing/here"), 404)
    assert_openai_error(httpx.delete(f"{gateway.base_url}/responses"), 404)


def test_health_and_readiness(gateway: Running) -> None:
    root = gateway.base_url.removesuffix("/v1")
    assert httpx.get(f"{root}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{root}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"ledger": "ok", "provider:emu": "ok"}


def test_readiness_fails_when_an_upstream_is_down(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = GatewayConfig.model_validate(
        {
            "providers": {
                "gone": {"kind": "openai-compatible", "base_url": f"http://127.0.0.1:{port}/v1"}
            },
            "ledger": {"path": str(tmp_path / "l.db")},
            "server": {"port": 0},
        }
    )
    with GatewayServer(config, {}) as server:
        ready = httpx.get(server.base_url.removesuffix("/v1") + "/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["provider:gone"].startswith("unreachable")
        with sdk(server.base_url) as client, pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model="gpt-5.4-mini", messages=MESSAGES)
        assert raised.value.status_code == 502
        assert raised.value.code == "upstream_unreachable"


def test_client_keys_are_enforced(emulator: EmulatorServer, tmp_path: Path) -> None:
    config = gateway_config(
        emulator, tmp_path / "l.db", server={"port": 0, "api_keys": ["sk-lw-good"]}
    )
    server, _ = start(config, {"EMU_KEY": "sk-x", "LANEWAY_API_KEYS": "sk-lw-also, sk-lw-third"})
    with server:
        for key in ("sk-lw-good", "sk-lw-also", "sk-lw-third"):
            with sdk(server.base_url, key) as client:
                assert client.chat.completions.create(
                    model="gpt-5.4-mini", messages=MESSAGES
                ).choices
        with (
            sdk(server.base_url, "sk-lw-wrong") as client,
            pytest.raises(openai.AuthenticationError) as raised,
        ):
            client.chat.completions.create(model="gpt-5.4-mini", messages=MESSAGES)
        assert raised.value.code == "invalid_api_key"
        assert "sk-lw-wrong" not in raised.value.response.text
        missing = httpx.post(f"{server.base_url}/chat/completions", json=CHAT)
        assert_openai_error(missing, 401)
        models = httpx.get(f"{server.base_url}/models")
        assert_openai_error(models, 401)


def test_without_client_keys_only_loopback_is_allowed(tmp_path: Path) -> None:
    open_config = GatewayConfig()
    env = {"LANEWAY_LEDGER": str(tmp_path / "ledger.db")}  # where the key store lives too
    assert check_exposure(open_config, env, "127.0.0.1") is False
    assert check_exposure(open_config, env, "::1") is False
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0 without client keys"):
        check_exposure(open_config, env, "0.0.0.0")  # noqa: S104 - the address being refused
    keyed = {**env, "LANEWAY_API_KEYS": "sk-1"}
    assert check_exposure(open_config, keyed, "0.0.0.0") is True  # noqa: S104
    # A virtual key in the key store is a client key too.
    with Assembly(open_config, env) as parts:
        KeyService(parts.key_store, LocalRevocations(), SystemClock()).create("team-a")
    assert check_exposure(open_config, env, "0.0.0.0") is True  # noqa: S104


def test_a_provider_key_variable_that_is_unset_fails_at_start(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    server = GatewayServer(gateway_config(emulator, tmp_path / "l.db"), {})
    with pytest.raises(RuntimeError) as raised:
        server.start()
    assert "EMU_KEY" in str(raised.value.__cause__)
    server.stop()
