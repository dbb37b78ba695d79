"""Guarded passthrough through the gateway on the emulator, with the official SDK: an allowed
path forwarded for a granted key only (with the provider's key, recorded, relayed); an unlisted
path refused for everyone; a key limited to lanes never gains the provider's reach."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

from laneway.emulator.server import EmulatorServer
from laneway.server.run import GatewayServer
from tests.gateway.conftest import gateway_config
from tests.gateway.serve_process import free_port
from tests.gateway.test_embeddings import records
from tests.gateway.test_virtual_keys import ENV, admin, create_key
from tests.sdk import sdk

PATHS = ["/v1/files", "GET /v1/files/*"]


@pytest.fixture
def server(emulator: EmulatorServer, tmp_path: Path) -> Iterator[GatewayServer]:
    config = gateway_config(emulator, tmp_path / "ledger.db", passthrough={"paths": PATHS})
    with GatewayServer(config, ENV) as running:
        yield running


def test_a_granted_key_uploads_lists_and_downloads_files(server: GatewayServer) -> None:
    key, view = create_key(server, name="files", passthrough=True)
    assert view["passthrough"] is True
    with sdk(server.base_url, key) as client:
        uploaded = client.files.create(
            file=("notes.jsonl", io.BytesIO(b'{"a":1}\n')), purpose="batch"
        )
        listed = client.files.list()
        content = client.files.content(uploaded.id).read()
    assert uploaded.filename == "notes.jsonl"
    assert uploaded.id in [f.id for f in listed.data]
    assert content == b'{"a":1}\n'
    upload, listing, download = records(server)
    assert [r.path for r in (upload, listing, download)] == [
        "/v1/files",
        "/v1/files",
        f"/v1/files/{uploaded.id}/content",
    ]
    for record in (upload, listing, download):
        assert record.endpoint == "passthrough"
        assert record.key_id == view["id"]
        assert (record.status, record.http_status) == ("ok", 200)
        assert record.cost_usd is None
        assert record.error is not None
        assert "cannot price" in record.error
        assert record.latency_ms is not None
        assert record.provider == "emu"


def test_an_allowed_path_is_refused_to_a_key_without_the_grant(server: GatewayServer) -> None:
    plain, plain_view = create_key(server, name="plain")
    lanes_key, _ = create_key(server, name="coder", lanes=["coding"])
    for key in (plain, lanes_key):
        with sdk(server.base_url, key) as client, pytest.raises(openai.PermissionDeniedError):
            client.files.list()
    refused = records(server)
    assert {(r.endpoint, r.status, r.refusal, r.path) for r in refused} == {
        ("passthrough", "refused", "access", "/v1/files")
    }
    assert plain_view["id"] in {r.key_id for r in refused}


def test_a_key_with_lanes_models_or_budgets_cannot_be_granted(server: GatewayServer) -> None:
    for limits in ({"lanes": ["coding"]}, {"models": ["gpt-5.4"]}, {"budgets": ["5/day"]}):
        answer = admin(server, "POST", "keys", name="limited", passthrough=True, **limits)
        assert answer.status_code == 400, limits
        assert answer.json()["error"]["param"] == "passthrough"
    lanes_key, view = create_key(server, name="coder", lanes=["coding"])
    granted = httpx.patch(
        f"http://127.0.0.1:{server.port}/admin/keys/{view['id']}",
        headers={"authorization": f"Bearer {ENV['LANEWAY_ADMIN_KEY']}"},
        json={"passthrough": True},
        timeout=10,
    )
    assert granted.status_code == 400
    with sdk(server.base_url, lanes_key) as client, pytest.raises(openai.PermissionDeniedError):
        client.files.list()


def test_the_grant_can_be_given_and_withdrawn(server: GatewayServer) -> None:
    key, view = create_key(server, name="later")
    url = f"http://127.0.0.1:{server.port}/admin/keys/{view['id']}"
    headers = {"authorization": f"Bearer {ENV['LANEWAY_ADMIN_KEY']}"}
    assert httpx.patch(url, headers=headers, json={"passthrough": True}).json()["passthrough"]
    with sdk(server.base_url, key) as client:
        assert isinstance(client.files.list().data, list)
        assert not httpx.patch(url, headers=headers, json={"passthrough": False}).json()[
            "passthrough"
        ]
        with pytest.raises(openai.PermissionDeniedError):
            client.files.list()


def test_an_unlisted_path_is_refused_for_everyone(server: GatewayServer) -> None:
    key, _ = create_key(server, name="files", passthrough=True)
    with sdk(server.base_url, key) as client:
        with pytest.raises(openai.NotFoundError):
            client.fine_tuning.jobs.list()
        with pytest.raises(openai.NotFoundError):
            client.files.delete("file-abc")  # DELETE is not among the rule's methods
        with pytest.raises(openai.NotFoundError):  # a dot segment matches no rule
            client.get("/files/../fine_tuning/jobs", cast_to=object)
    assert records(server) == []


def test_passthrough_is_off_by_default(emulator: EmulatorServer, tmp_path: Path) -> None:
    with GatewayServer(gateway_config(emulator, tmp_path / "ledger.db"), ENV) as running:
        key, _ = create_key(running, name="files", passthrough=True)
        with sdk(running.base_url, key) as client, pytest.raises(openai.NotFoundError):
            client.files.list()


def test_static_keys_need_their_own_switch(emulator: EmulatorServer, tmp_path: Path) -> None:
    static = "sk-static-client-key"
    for allowed in (False, True):
        config = gateway_config(
            emulator,
            tmp_path / f"ledger-{allowed}.db",
            passthrough={"paths": PATHS, "static_keys": allowed},
            server={"port": 0, "api_keys": [{"key": static}]},
        )
        with GatewayServer(config, ENV) as running, sdk(running.base_url, static) as client:
            if allowed:
                assert isinstance(client.files.list().data, list)
            else:
                with pytest.raises(openai.PermissionDeniedError):
                    client.files.list()


def test_a_key_revoked_on_another_replica_is_refused_at_once(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    # Two replicas sharing Redis state and one key store; each caches keys for an hour, so only
    # the shared revocation set can tell the second one.
    shared = {
        "passthrough": {"paths": PATHS},
        "state": {"backend": "redis", "namespace": f"passthrough-{uuid.uuid4().hex}"},
        "keys": {"refresh_s": 3600},
    }
    config = gateway_config(emulator, tmp_path / "ledger.db", **shared)
    with GatewayServer(config, ENV) as first, GatewayServer(config, ENV) as second:
        key, view = create_key(first, name="ops", passthrough=True)
        with sdk(second.base_url, key) as client:
            assert isinstance(client.files.list().data, list)  # cached on the second replica
            assert admin(first, "POST", f"keys/{view['id']}/revoke").status_code == 200
            with pytest.raises(openai.AuthenticationError):
                client.files.list()


def test_no_answer_from_the_provider_is_a_502_on_record(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    config = gateway_config(emulator, tmp_path / "ledger.db", passthrough={"paths": PATHS})
    down = config.providers["emu"].model_copy(
        update={"base_url": f"http://127.0.0.1:{free_port()}/v1"}
    )
    config = config.model_copy(update={"providers": {"emu": down}})
    with GatewayServer(config, ENV) as running:
        key, _ = create_key(running, name="files", passthrough=True)
        with (
            sdk(running.base_url, key) as client,
            pytest.raises(openai.InternalServerError) as failed,
        ):
            client.files.list()
        assert failed.value.status_code == 502
        assert failed.value.code == "upstream_unreachable"
        [record] = records(running)
    assert (record.endpoint, record.status, record.http_status) == ("passthrough", "error", 502)
    assert record.error is not None
    assert "cannot price" in record.error
