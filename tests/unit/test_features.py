"""wire.features: what routing reads from a body, and the input counts it can rely on."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from laneway.emulator.config import EmulatorConfig
from laneway.emulator.engine import Caller, Engine
from laneway.emulator.responses_request import HOSTED_TOOL_CAPABILITY
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import CAPABILITIES
from laneway.wire.errors import ApiError
from laneway.wire.features import (
    CHAT_TOOL_CAPABILITY,
    MALFORMED_TOOL,
    RESPONSES_TOOL_CAPABILITY,
    RequestFeatures,
    exact_input_tokens,
    read_features,
)
from laneway.wire.request import Endpoint
from tests.openapi import validator
from tests.paths import OPENAI_SPEC

MODEL = "gpt-5.4-mini"  # the catalog marks every hosted tool supported on it
FUNCTION = {
    "type": "function",
    "name": "lookup",
    "description": "Find an order.",
    "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
    "strict": False,
}
SKILL_SHELL = {
    "type": "shell",
    "environment": {
        "type": "container_auto",
        "skills": [{"type": "skill_reference", "skill_id": "openai-spreadsheets"}],
    },
}
# One valid tool (checked against the spec below) per Responses tool type, and what it needs.
RESPONSES_TOOLS: list[tuple[dict[str, Any], frozenset[str]]] = [
    (FUNCTION, frozenset()),
    ({"type": "custom", "name": "sql", "description": "Run SQL."}, frozenset()),
    (
        {"type": "namespace", "name": "crm", "description": "CRM tools.", "tools": [FUNCTION]},
        frozenset(),
    ),
    ({"type": "computer"}, frozenset({"computer_use"})),
    (
        {
            "type": "computer_use_preview",
            "environment": "browser",
            "display_width": 1024,
            "display_height": 768,
        },
        frozenset({"computer_use"}),
    ),
    ({"type": "web_search"}, frozenset({"web_search"})),
    ({"type": "web_search_2025_08_26"}, frozenset({"web_search"})),
    ({"type": "web_search_preview"}, frozenset({"web_search"})),
    ({"type": "web_search_preview_2025_03_11"}, frozenset({"web_search"})),
    ({"type": "file_search", "vector_store_ids": ["vs_1"]}, frozenset({"file_search"})),
    (
        {"type": "code_interpreter", "container": {"type": "auto"}},
        frozenset({"code_interpreter"}),
    ),
    ({"type": "image_generation"}, frozenset({"image_generation"})),
    (
        {"type": "mcp", "server_label": "docs", "server_url": "https://example.com/mcp"},
        frozenset({"mcp"}),
    ),
    ({"type": "tool_search"}, frozenset({"tool_search"})),
    ({"type": "tool_search", "execution": "client"}, frozenset({"tool_search"})),
    ({"type": "shell"}, frozenset({"hosted_shell"})),
    (SKILL_SHELL, frozenset({"hosted_shell", "skills"})),
    (
        {"type": "shell", "environment": {"type": "local", "skills": []}},
        frozenset({"hosted_shell"}),
    ),
    ({"type": "local_shell"}, frozenset({"hosted_shell"})),
    ({"type": "apply_patch"}, frozenset({"apply_patch"})),
]
# In the spec, but the catalog has no capability to check it against.
UNCHECKABLE_TYPES = frozenset({"programmatic_tool_calling"})


def features(endpoint: Endpoint, body: dict[str, Any]) -> RequestFeatures:
    """What the gateway sees: the body parsed from its bytes, and their length."""
    raw = orjson.dumps(body)
    return read_features(endpoint, orjson.loads(raw), len(raw))


def responses(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "input": "Hello", **fields}


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], **fields}


# -- capabilities -----------------------------------------------------------------------------


@functools.cache
def spec_tool_types() -> frozenset[str]:
    """Every `type` of OpenAI's Responses tool unions, `Tool` and `BetaTool`."""
    with (OPENAI_SPEC / "openapi.yaml").open(encoding="utf-8") as file:
        schemas = yaml.load(file, Loader=yaml.CSafeLoader)["components"]["schemas"]
    types: set[str] = set()
    for union in ("Tool", "BetaTool"):
        for ref in schemas[union]["oneOf"]:
            variant = schemas[ref["$ref"].rsplit("/", 1)[1]]
            types.update(variant["properties"]["type"]["enum"])
    return frozenset(types)


def test_every_spec_tool_type_is_mapped_or_reported_unchecked() -> None:
    assert set(RESPONSES_TOOL_CAPABILITY) | UNCHECKABLE_TYPES == spec_tool_types()
    assert {tool["type"] for tool, _ in RESPONSES_TOOLS} == set(RESPONSES_TOOL_CAPABILITY)


def test_capability_names_are_the_catalogs() -> None:
    named = {c for c in RESPONSES_TOOL_CAPABILITY.values() if c} | {"skills", "web_search"}
    assert named <= set(CAPABILITIES)
    assert set(CAPABILITIES) - named == set()  # and every catalog capability can be asked for


def test_the_emulator_checks_hosted_tools_by_the_same_table() -> None:
    for kind, capability in HOSTED_TOOL_CAPABILITY.items():
        assert RESPONSES_TOOL_CAPABILITY[kind] == capability


@pytest.mark.parametrize(
    ("tool", "needed"),
    RESPONSES_TOOLS,
    ids=[f"{t['type']}-{i}" for i, (t, _) in enumerate(RESPONSES_TOOLS)],
)
def test_responses_tool_capability(tool: dict[str, Any], needed: frozenset[str]) -> None:
    validator("Tool").validate(tool)  # the sample is a tool OpenAI accepts
    found = features("responses", responses(tools=[tool]))
    assert found.capabilities == needed
    assert found.unknown_tools == frozenset()
    assert found.has_tools


def test_responses_tools_together() -> None:
    tools = [tool for tool, _ in RESPONSES_TOOLS]
    found = features("responses", responses(tools=tools))
    assert found.capabilities == frozenset(CAPABILITIES)
    assert found.unknown_tools == frozenset()


def test_unknown_and_uncheckable_tool_types_are_reported() -> None:
    tools = [
        FUNCTION,
        {"type": "programmatic_tool_calling"},
        {"type": "teleport_2027"},
        {"type": "web_search"},
        {"name": "no type"},
        "not an object",
        {"type": 7},
    ]
    found = features("responses", responses(tools=tools))
    assert found.capabilities == {"web_search"}
    assert found.unknown_tools == {"programmatic_tool_calling", "teleport_2027", MALFORMED_TOOL}
    assert found.has_tools


def test_namespace_tools_are_read_one_level_down() -> None:
    inner = [FUNCTION, {"type": "web_search"}, {"type": "hologram"}]
    nested = {"type": "namespace", "name": "deep", "description": "", "tools": [SKILL_SHELL]}
    namespace = {"type": "namespace", "name": "crm", "description": "", "tools": [*inner, nested]}
    found = features("responses", responses(tools=[namespace]))
    assert found.capabilities == {"web_search"}  # the nested namespace is not read
    assert found.unknown_tools == {"hologram"}


def test_chat_tools() -> None:
    function = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    custom = {"type": "custom", "custom": {"name": "g"}}
    body = chat(tools=[function, custom])
    validator("CreateChatCompletionRequest").validate(body)
    found = features("chat", body)
    assert found.has_tools
    assert found.capabilities == found.unknown_tools == frozenset()
    # Chat has no hosted tools in `tools`: a Responses tool type there is one laneway cannot check.
    found = features("chat", chat(tools=[{"type": "web_search"}]))
    assert found.capabilities == frozenset()
    assert found.unknown_tools == {"web_search"}
    assert set(CHAT_TOOL_CAPABILITY) == {"function", "custom"}


@pytest.mark.parametrize("options", [{}, {"search_context_size": "low"}, {"user_location": None}])
def test_chat_web_search_options(options: dict[str, Any]) -> None:
    body = chat(model="gpt-5-search-api", web_search_options=options)
    validator("CreateChatCompletionRequest").validate(body)
    found = features("chat", body)
    assert found.capabilities == {"web_search"}
    assert found.has_tools


def test_chat_legacy_functions_are_tools() -> None:
    found = features("chat", chat(functions=[{"name": "f", "parameters": {"type": "object"}}]))
    assert found.has_tools
    assert found.capabilities == frozenset()


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("responses", responses()),
        ("responses", responses(tools=[])),
        ("responses", responses(tools=None)),
        ("chat", chat()),
        ("chat", chat(tools=[], functions=[], web_search_options=None)),
    ],
)
def test_no_tools(endpoint: Endpoint, body: dict[str, Any]) -> None:
    found = features(endpoint, body)
    assert not found.has_tools
    assert found.capabilities == found.unknown_tools == frozenset()


# -- max output, identity, metadata ---------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "fields", "expected"),
    [
        ("responses", {}, None),
        ("responses", {"max_output_tokens": 500}, 500),
        ("responses", {"max_output_tokens": None}, None),
        ("responses", {"max_tokens": 500}, None),  # not a Responses field
        ("chat", {}, None),
        ("chat", {"max_completion_tokens": 300}, 300),
        ("chat", {"max_tokens": 200}, 200),
        ("chat", {"max_completion_tokens": 300, "max_tokens": 200}, 300),
        ("chat", {"max_completion_tokens": None, "max_tokens": 200}, 200),
        ("chat", {"max_output_tokens": 500}, None),  # not a Chat field
    ],
)
def test_max_output_tokens(
    endpoint: Endpoint, fields: dict[str, Any], expected: int | None
) -> None:
    body = responses(**fields) if endpoint == "responses" else chat(**fields)
    assert features(endpoint, body).max_output_tokens == expected


@pytest.mark.parametrize(
    ("endpoint", "fields", "param", "code"),
    [
        # Anything but an integer within range is OpenAI's 400, before a budget is reckoned
        # with it or laneway sets a cap beside it (it used to be read as "no cap").
        ("responses", {"max_output_tokens": 0}, "max_output_tokens", "integer_below_min_value"),
        ("responses", {"max_output_tokens": 15}, "max_output_tokens", "integer_below_min_value"),
        ("responses", {"max_output_tokens": -5}, "max_output_tokens", "integer_below_min_value"),
        ("responses", {"max_output_tokens": True}, "max_output_tokens", "invalid_type"),
        ("responses", {"max_output_tokens": 500.0}, "max_output_tokens", "invalid_type"),
        ("responses", {"max_output_tokens": 1e308}, "max_output_tokens", "invalid_type"),
        ("responses", {"max_output_tokens": "500"}, "max_output_tokens", "invalid_type"),
        ("chat", {"max_completion_tokens": 0}, "max_completion_tokens", "integer_below_min_value"),
        ("chat", {"max_completion_tokens": False}, "max_completion_tokens", "invalid_type"),
        ("chat", {"max_tokens": "9"}, "max_tokens", "invalid_type"),
        ("chat", {"max_tokens": []}, "max_tokens", "invalid_type"),
        ("chat", {"n": 0}, "n", "integer_below_min_value"),
        ("chat", {"n": 129}, "n", "invalid_value"),
        ("chat", {"n": 10**18}, "n", "invalid_value"),
        ("chat", {"n": 2.0}, "n", "invalid_type"),
        ("chat", {"n": True}, "n", "invalid_type"),
    ],
)
def test_bad_output_fields_get_openais_400(
    endpoint: Endpoint, fields: dict[str, Any], param: str, code: str
) -> None:
    body = responses(**fields) if endpoint == "responses" else chat(**fields)
    with pytest.raises(ApiError) as refused:
        features(endpoint, body)
    assert (refused.value.status, refused.value.param, refused.value.code) == (400, param, code)


@pytest.mark.parametrize(
    ("endpoint", "fields", "choices", "extra"),
    [
        ("chat", {}, 1, 0),
        ("chat", {"n": None}, 1, 0),
        ("chat", {"n": 8}, 8, 0),
        ("chat", {"n": 128}, 128, 0),
        ("responses", {"n": 8}, 1, 0),  # not a Responses field: upstream refuses it
        ("chat", {"prediction": {"type": "content", "content": "x"}}, 1, 100),
    ],
)
def test_what_multiplies_output(
    endpoint: Endpoint, fields: dict[str, Any], choices: int, extra: int
) -> None:
    body = responses(**fields) if endpoint == "responses" else chat(**fields)
    found = read_features(endpoint, body, 100)
    assert (found.choices, found.output_extra) == (choices, extra)


def test_identity_fields_are_in_both_request_schemas() -> None:
    validator("CreateResponse").validate(responses(safety_identifier="h1", user="u1"))
    validator("CreateChatCompletionRequest").validate(chat(safety_identifier="h1", user="u1"))


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"user": "u1"}, "u1"),
        ({"safety_identifier": "h1"}, "h1"),
        ({"safety_identifier": "h1", "user": "u1"}, "h1"),
        ({"safety_identifier": None, "user": "u1"}, "u1"),
        ({"safety_identifier": "", "user": "u1"}, "u1"),  # empty would bucket everyone together
        ({"safety_identifier": 42, "user": "u1"}, "u1"),
        ({"user": ""}, None),
        ({"user": ["u1"]}, None),
    ],
)
def test_identity(endpoint: Endpoint, fields: dict[str, Any], expected: str | None) -> None:
    body = responses(**fields) if endpoint == "responses" else chat(**fields)
    assert features(endpoint, body).identity == expected


@pytest.mark.parametrize("endpoint", ["responses", "chat"])
@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"team": "search", "ticket": "42"}, {"team": "search", "ticket": "42"}),
        ({}, {}),
        (None, {}),
        ({"team": "search", "ticket": 42}, {}),  # not str -> str: ignored whole
        ({"team": None}, {}),
        ({"nested": {"a": "b"}}, {}),
        (["team", "search"], {}),
        ("team=search", {}),
    ],
)
def test_metadata(endpoint: Endpoint, metadata: Any, expected: dict[str, str]) -> None:
    body = responses(metadata=metadata) if endpoint == "responses" else chat(metadata=metadata)
    found = features(endpoint, body).metadata
    assert dict(found) == expected
    with pytest.raises(TypeError):
        found["team"] = "changed"  # type: ignore[index]  # read-only: it is the body's own


@pytest.mark.parametrize(
    ("endpoint", "body", "stored"),
    [
        ("responses", responses(), False),
        ("responses", responses(previous_response_id="resp_1"), True),
        ("responses", responses(conversation="conv_1"), True),
        ("responses", responses(prompt={"id": "pmpt_1"}), True),
        ("chat", chat(), False),
    ],
)
def test_stored_input(endpoint: Endpoint, body: dict[str, Any], stored: bool) -> None:
    assert features(endpoint, body).stored_input is stored


def test_malformed_fields_never_raise() -> None:
    body = {
        "tools": {"type": "web_search"},
        "functions": "f",
        "metadata": 3,
        "user": {},
        "input": 5,
        "messages": "hi",
    }
    for endpoint in ("responses", "chat"):
        found = read_features(endpoint, body, 100)
        assert not found.has_tools
        assert found.max_output_tokens is None
        assert found.identity is None
        assert exact_input_tokens(endpoint, body) == 0


def test_estimate_and_bound_come_from_the_size() -> None:
    found = read_features("chat", chat(), 4000)
    assert (found.input_upper_bound, found.input_estimate) == (4000, 1000)


# -- exact input tokens: the emulator's figure ------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(EmulatorConfig(seed=7, speed=0, tier="none"), Catalog.load())


@pytest.fixture(scope="module")
def caller(engine: Engine) -> Caller:
    return engine.authenticate("Bearer sk-test")


def emulator_input_tokens(
    engine: Engine, caller: Caller, endpoint: Endpoint, body: dict[str, Any]
) -> int:
    """What the emulator bills as this request's input, asked in-process."""
    parsed = orjson.loads(orjson.dumps(body))
    if endpoint == "chat":
        usage = engine.chat(caller, parsed, None).body["usage"]
        return int(usage["prompt_tokens"])
    usage = engine.responses(caller, parsed, None).body["usage"]
    return int(usage["input_tokens"])


TEXTS = {
    "ascii": "The quick brown fox jumps over the lazy dog. " * 20,
    "cjk": "東京特許許可局の局長は、今日も急遽休暇を取った。日本語の文章です。" * 10,
    "emoji": "👋🏽 hello 🇫🇷🇯🇵 👨‍👩‍👧‍👦 family ❤️‍🔥 " * 15,
    "long word": "Pneumonoultramicroscopicsilicovolcanoconiosis" * 40,
    "letters": "".join(chr(97 + (i * 7) % 26) for i in range(3000)),
    "digits": "31415926535897932384626433832795" * 30,
    "escapes": '"quoted" \\back\\slash\\ \n\t\r\b\f \x00\x01\x1f </script> ' * 40,
    "json text": orjson.dumps({"a": [1, 2.5, None, True], "b": {"c": "d\n"}}).decode() * 30,
    "code": "def f(x):\n    return {'k': x ** 2}  # comment\n\n" * 30,
    "whitespace": " \t \n\n   \r\n" * 100,
    "unicode 15.1": "".join(chr(c) for c in range(0x2B73A, 0x2B740)) * 30 + "\u0c5c\u0cdc" * 50,
    "mixed scripts": "Ελληνικά кириллица עברית العربية हिन्दी ไทย 한국어 " * 10,
    "empty": "",
}


def conversations(text: str) -> Iterator[tuple[Endpoint, dict[str, Any]]]:
    """Shapes that carry `text` into the prompt in every way the renderers know."""
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": orjson.dumps({"q": text}).decode()},
    }
    yield "chat", chat(messages=[{"role": "user", "content": text}])
    yield (
        "chat",
        chat(
            messages=[
                {"role": "developer", "content": text},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": text},
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                        {"type": "text", "text": "and"},
                    ],
                },
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": text},
            ],
            tools=[{"type": "function", "function": {"name": "lookup", "description": text}}],
            max_completion_tokens=50,
        ),
    )
    yield "responses", responses(input=text)
    yield (
        "responses",
        responses(
            instructions=text,
            input=[
                {"role": "user", "content": text},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text}],
                },
                {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": text},
                {"type": "function_call_output", "call_id": "c1", "output": text},
                {
                    "type": "function_call_output",
                    "call_id": "c2",
                    "output": [{"type": "input_text", "text": text}],
                },
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": text},
                        {"type": "input_image", "image_url": "https://example.com/a.png"},
                        {"type": "input_file", "file_id": "file-1"},
                    ],
                },
            ],
            tools=[
                {**FUNCTION, "description": text},
                {"type": "web_search"},
                {"type": "mcp", "server_label": "docs", "server_description": text},
            ],
            max_output_tokens=64,
        ),
    )


CASES = [
    pytest.param(endpoint, body, id=f"{name}-{endpoint}-{i}")
    for name, text in TEXTS.items()
    for i, (endpoint, body) in enumerate(conversations(text))
]


@pytest.mark.parametrize(("endpoint", "body"), CASES)
def test_exact_count_is_the_emulators(
    engine: Engine, caller: Caller, endpoint: Endpoint, body: dict[str, Any]
) -> None:
    exact = exact_input_tokens(endpoint, orjson.loads(orjson.dumps(body)))
    assert exact == emulator_input_tokens(engine, caller, endpoint, body)


@pytest.mark.parametrize(("endpoint", "body"), CASES)
def test_upper_bound_holds_however_the_body_is_written(
    endpoint: Endpoint, body: dict[str, Any]
) -> None:
    exact = exact_input_tokens(endpoint, body)
    writings = [
        orjson.dumps(body),  # compact UTF-8, the smallest a body gets
        json.dumps(body, ensure_ascii=True).encode(),  # every non-ASCII character escaped
        json.dumps(body, indent=2, ensure_ascii=False).encode(),
    ]
    for raw in writings:
        found = read_features(endpoint, orjson.loads(raw), len(raw))
        assert exact <= found.input_upper_bound, raw[:80]


CALL = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
HOSTILE = {
    # Shapes with the most prompt text per byte of JSON: labels over nearly empty values.
    "empty chat messages": (
        "chat",
        {"model": "m", "messages": [{"role": "user", "content": ""}] * 2000},
    ),
    "bare tool calls": (
        "chat",
        {"model": "m", "messages": [{"role": "assistant", "tool_calls": [CALL] * 2000}]},
    ),
    "empty call objects": (
        "chat",
        {"model": "m", "messages": [{"role": "assistant", "tool_calls": [{}] * 2000}]},
    ),
    "number tool calls": (
        "chat",
        {"model": "m", "messages": [{"role": "assistant", "tool_calls": [0] * 2000}]},
    ),
    "empty parts": (
        "chat",
        {
            "model": "m",
            "messages": [{"role": "user", "content": [{"type": "text", "text": ""}] * 2000}],
        },
    ),
    "image parts": (
        "chat",
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}] * 2000}]},
    ),
    "unknown parts": (
        "chat",
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "x"}] * 2000}]},
    ),
    "short items": ("responses", {"model": "m", "input": [{"type": "x"}] * 2000}),
    "bare calls": ("responses", {"model": "m", "input": [{"type": "function_call"}] * 2000}),
    "number outputs": (
        "responses",
        {"model": "m", "input": [{"type": "function_call_output", "output": 0}] * 2000},
    ),
    "empty messages": (
        "responses",
        {"model": "m", "input": [{"role": "user", "content": ""}] * 2000},
    ),
    "one-letter input": ("responses", {"model": "m", "input": "a"}),
    "many hosted tools": (
        "responses",
        {"model": "m", "input": "", "tools": [{"type": "mcp"}] * 2000},
    ),
    "numbers in a schema": (
        "responses",
        {
            "model": "m",
            "input": "",
            "tools": [{"type": "function", "name": "f", "parameters": {"enum": list(range(3000))}}],
        },
    ),
    "empty instructions": ("responses", {"model": "m", "instructions": "", "input": []}),
}


@pytest.mark.parametrize(("endpoint", "body"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_upper_bound_on_hostile_shapes(endpoint: Endpoint, body: dict[str, Any]) -> None:
    found = features(endpoint, body)
    assert exact_input_tokens(endpoint, body) <= found.input_upper_bound


def test_stored_conversation_is_the_emulators_and_not_counted(
    engine: Engine, caller: Caller
) -> None:
    first = engine.responses(caller, responses(input="Remember the number 7."), None).body
    body = responses(input="Which number?", previous_response_id=first["id"])
    found = features("responses", body)
    assert found.stored_input
    exact = exact_input_tokens("responses", body)
    assert exact == exact_input_tokens("responses", responses(input="Which number?"))
    assert exact < emulator_input_tokens(engine, caller, "responses", body)


# Any text JSON can carry: lone surrogates are not UTF-8, and orjson refuses them.
text_without_surrogates = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(text_without_surrogates, min_size=1, max_size=4),
    chat_shape=st.booleans(),
)
def test_property_exact_is_the_emulators_and_under_the_bound(
    engine: Engine, caller: Caller, texts: list[str], chat_shape: bool
) -> None:
    endpoint: Endpoint
    if chat_shape:
        endpoint = "chat"
        roles = ("user", "assistant", "system")
        body = chat(messages=[{"role": roles[i % 3], "content": t} for i, t in enumerate(texts)])
    else:
        endpoint = "responses"
        body = responses(
            instructions=texts[0],
            input=[{"role": "user", "content": t} for t in texts[1:]] or texts[0],
        )
    found = features(endpoint, body)
    exact = exact_input_tokens(endpoint, body)
    assert exact <= found.input_upper_bound
    assert exact == emulator_input_tokens(engine, caller, endpoint, body)
