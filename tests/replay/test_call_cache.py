from decimal import Decimal
from pathlib import Path

from laneway.replay.call_cache import CallCache, call_key, default_cache_dir
from laneway.replay.graders import Grade
from laneway.replay.rows import ResultRow, RowUsage
from laneway.wire.answers import AnswerView


def _row(**fields: object) -> ResultRow:
    base: dict[str, object] = {
        "cell": "gpt-5.4-mini@low",
        "custom_id": "q-1",
        "repeat": 0,
        "status": "ok",
        "started_at": 1.0,
        "record_id": "req_1",
        "usage": RowUsage(10, 0, 5, 2),
        "cost_usd": Decimal("0.00001"),
        "output": AnswerView("42"),
        "grades": (Grade("exact", 1.0, "42", "equal"),),
    }
    base.update(fields)
    return ResultRow(**base)  # type: ignore[arg-type]


def test_a_key_covers_the_upstream_the_endpoint_the_body_and_the_repeat() -> None:
    key = call_key("emulator:seed=0", "responses", b'{"model":"m"}', 0)
    assert key == call_key("emulator:seed=0", "responses", b'{"model":"m"}', 0)
    others = {
        call_key("emulator:seed=1", "responses", b'{"model":"m"}', 0),
        call_key("emulator:seed=0", "chat", b'{"model":"m"}', 0),
        call_key("emulator:seed=0", "responses", b'{"model":"n"}', 0),
        call_key("emulator:seed=0", "responses", b'{"model":"m"}', 1),
        # the parts are length-prefixed: moving a boundary changes the key
        call_key("emulator:seed=0r", "esponses", b'{"model":"m"}', 0),
    }
    assert key not in others
    assert len(others) == 5


def test_an_answer_is_kept_without_its_grades_and_read_back(tmp_path: Path) -> None:
    cache = CallCache(tmp_path)
    key = call_key("u", "responses", b"{}", 0)
    assert cache.get(key) is None
    assert cache.put(key, _row())
    back = cache.get(key)
    assert back == _row(grades=())
    assert list(tmp_path.glob("*/*.tmp")) == []


def test_errors_broken_streams_and_unknown_costs_are_never_kept(tmp_path: Path) -> None:
    cache = CallCache(tmp_path)
    for number, row in enumerate(
        [
            _row(status="error", output=None, error_kind="server_error"),
            _row(status="refused", output=None, error_kind="rate_limit"),
            _row(status="broken", error_kind="broken_stream"),
            _row(cost_usd=None),
            _row(output=None),
        ]
    ):
        key = call_key("u", "responses", b"{}", number)
        assert not cache.put(key, row)
        assert cache.get(key) is None
    assert list(tmp_path.rglob("*.json")) == []


def test_a_damaged_entry_reads_as_absent(tmp_path: Path) -> None:
    cache = CallCache(tmp_path)
    key = call_key("u", "responses", b"{}", 0)
    cache.put(key, _row())
    next(tmp_path.rglob("*.json")).write_bytes(b'{"cell": ')
    assert cache.get(key) is None


def test_the_default_place_follows_xdg() -> None:
    assert default_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/laneway/replay-calls")
