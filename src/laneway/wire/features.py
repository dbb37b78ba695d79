"""What the router needs to know about a request body, read in one cheap pass.

`read_features` runs on every request, so it only looks up a few top-level fields and walks the
`tools` list: no tokenising, no serialising, no walk over the input. A request without tools
costs a few dictionary lookups. The one costly question, the exact input count, is a separate
function (`exact_input_tokens`) that routing calls only when the cheap bound is not enough.

Capability names are the catalog's (`laneway.pricing.model_spec.CAPABILITIES`); they are written
out here because the wire layer sits below pricing, and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from laneway.tokens import count_tokens
from laneway.wire.errors import ApiError, invalid_type, invalid_value
from laneway.wire.prompt import prompt_text
from laneway.wire.request import Endpoint

# Every Responses tool `type` in OpenAI's spec (`Tool` and `BetaTool` in openapi.yaml) and the
# catalog capability a model needs to take it; None for tools the client defines and runs
# (functions, custom tools, namespaces of them), which any model takes. `programmatic_tool_calling`
# is in the spec too but the catalog has no column for it: it is left out on purpose, so it is
# reported in `unknown_tools` (forwarded, marked as unchecked) rather than passed as supported.
RESPONSES_TOOL_CAPABILITY: Final[Mapping[str, str | None]] = MappingProxyType(
    {
        "function": None,
        "custom": None,
        "namespace": None,  # groups function and custom tools; its inner tools are read too
        "computer": "computer_use",
        "computer_use_preview": "computer_use",
        "web_search": "web_search",
        "web_search_2025_08_26": "web_search",
        "web_search_preview": "web_search",
        "web_search_preview_2025_03_11": "web_search",
        "file_search": "file_search",
        "code_interpreter": "code_interpreter",
        "image_generation": "image_generation",
        "mcp": "mcp",
        "tool_search": "tool_search",  # hosted or client-executed: the model must support it
        # The catalog has one shell capability: `shell` may run in a hosted container or on the
        # client, `local_shell` on the client; either way the model must support the shell tool.
        "shell": "hosted_shell",
        "local_shell": "hosted_shell",
        "apply_patch": "apply_patch",
    }
)
# Chat Completions takes only client-defined tools in `tools`; web search is a field of its own.
CHAT_TOOL_CAPABILITY: Final[Mapping[str, str | None]] = MappingProxyType(
    {"function": None, "custom": None}
)

_NONE: Final[frozenset[str]] = frozenset()
_NO_METADATA: Final[Mapping[str, str]] = MappingProxyType({})
_WEB_SEARCH: Final[frozenset[str]] = frozenset({"web_search"})
_UNKNOWN: Final = object()  # a table miss, told apart from a None (no capability) entry
MAX_CHOICES: Final = 128  # Chat's `n`: 1..128 (OpenAI's spec)
RESPONSES_MIN_OUTPUT: Final = 16  # OpenAI refuses a smaller `max_output_tokens`
# Stands in `unknown_tools` for a tool that is not an object with a string `type`.
MALFORMED_TOOL: Final = "(malformed tool)"


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class RequestFeatures:
    capabilities: frozenset[str]  # catalog capabilities the request's tools need
    unknown_tools: frozenset[str]  # tool types laneway cannot check against the catalog
    has_tools: bool  # any tool at all, function tools and Chat's web search included
    max_output_tokens: int | None  # the client's cap on output (reasoning included)
    # What multiplies output: Chat's `n` (each choice writes up to the cap, one input billed);
    # 1 for Responses, which has no such field.
    choices: int
    # Output billed beyond the cap: Chat's predicted output, whose rejected tokens are billed as
    # output; bounded by the body's bytes (a token is at least a byte). 0 without a prediction.
    output_extra: int
    identity: str | None  # whom the request is for: safety_identifier, else user
    metadata: Mapping[str, str]  # the body's metadata when it is strings only, else empty
    # Input that the upstream holds and the body does not (previous_response_id, a stored
    # conversation or prompt template): neither input figure below covers it.
    stored_input: bool
    input_upper_bound: int  # tokens, never fewer than the body's own input (see read_features)
    input_estimate: int  # tokens, a heuristic for ranking by cost only


# The input bound (`input_upper_bound`): o200k_base splits a text's UTF-8 bytes into tokens of at
# least one byte each, so a text has no more tokens than bytes. The counted text is the body's
# strings, bits of its JSON printed again (tool definitions and calls) and short labels ("user: ",
# "\n\n", " called "). A string is no longer in UTF-8 than in the JSON (escapes such as \n or
# \u00e9 only add bytes); a label is a token or two, fewer than the bytes of JSON syntax around
# what it labels (quotes, keys, braces), and that syntax, printed again, packs several bytes into
# a token. OpenAI's few formatting tokens per message are paid for the same way. Not covered:
# images and files, billed by their own rules (tiles, pages) and not by the bytes that refer to
# them; stored input (`stored_input`); and numbers printed again longer than written (1e9 in a
# tool's JSON counts as "1000000000.0"), which no real request leans on. The tests try it on
# hostile shapes.
def read_features(endpoint: Endpoint, body: dict[str, Any], raw_size: int) -> RequestFeatures:
    """The routing facts of a parsed Responses or Chat body whose JSON text was `raw_size`
    bytes long (an embeddings body: `embedding_features`)."""
    get = body.get
    capabilities = unknown = _NONE
    tools = get("tools")
    has_tools = False
    if tools and isinstance(tools, list):
        has_tools = True
        table = CHAT_TOOL_CAPABILITY if endpoint == "chat" else RESPONSES_TOOL_CAPABILITY
        capabilities, unknown = _scan(tools, table)
    if endpoint == "chat":
        functions = get("functions")  # the deprecated form of function tools
        has_tools = has_tools or (isinstance(functions, list) and bool(functions))
        if get("web_search_options") is not None:
            capabilities = capabilities | _WEB_SEARCH
            has_tools = True
        max_output = _output_cap(get, "max_completion_tokens", 1) or _output_cap(
            get, "max_tokens", 1
        )
        choices = get("n")
        if choices is None:
            choices = 1
        elif type(choices) is not int or not 1 <= choices <= MAX_CHOICES:
            _bad_choices(choices)
        extra = raw_size if get("prediction") is not None else 0
        stored_input = False
    else:
        max_output = _output_cap(get, "max_output_tokens", RESPONSES_MIN_OUTPUT)
        choices, extra = 1, 0
        stored_input = (
            get("previous_response_id") is not None
            or get("conversation") is not None
            or get("prompt") is not None
        )
    identity = get("safety_identifier")
    if not (identity and isinstance(identity, str)):
        identity = get("user")
        if not (identity and isinstance(identity, str)):
            identity = None
    metadata = get("metadata")
    if metadata and isinstance(metadata, dict) and _all_str(metadata):
        metadata = MappingProxyType(metadata)  # the body's own dict: shown, not copied
    else:
        metadata = _NO_METADATA
    return RequestFeatures(
        capabilities=capabilities,
        unknown_tools=unknown,
        has_tools=has_tools,
        max_output_tokens=max_output,
        choices=choices,
        output_extra=extra,
        identity=identity,
        metadata=metadata,
        stored_input=stored_input,
        input_upper_bound=raw_size,
        # About four bytes of English per token; code, JSON syntax and other scripts run at
        # other rates, so this only ranks requests by likely cost and is never a limit.
        input_estimate=raw_size // 4,
    )


def embedding_features(raw_size: int) -> RequestFeatures:
    """An embeddings request writes nothing (output 0) and its input is bounded by its bytes:
    a text's tokens as above, a token array's by the digit and comma each token takes."""
    return RequestFeatures(
        capabilities=_NONE,
        unknown_tools=_NONE,
        has_tools=False,
        max_output_tokens=0,
        choices=1,
        output_extra=0,
        identity=None,
        metadata=_NO_METADATA,
        stored_input=False,
        input_upper_bound=raw_size,
        input_estimate=raw_size // 4,
    )


def exact_input_tokens(endpoint: Endpoint, body: Mapping[str, Any]) -> int:
    """The input tokens the emulator reports for this body: the o200k_base count of its prompt
    text (`laneway.wire.prompt`), without stored input, which only the upstream holds. Costs a
    walk over the input and a tokeniser pass: for when `input_upper_bound` is not enough."""
    return count_tokens(prompt_text(endpoint, body))


def _scan(
    tools: list[Any], table: Mapping[str, str | None]
) -> tuple[frozenset[str], frozenset[str]]:
    """(capabilities needed, unknown tool types) of a `tools` list."""
    needed: set[str] = set()
    unknown: set[str] = set()
    _scan_into(tools, table, needed, unknown, nested=False)
    return (frozenset(needed) if needed else _NONE), (frozenset(unknown) if unknown else _NONE)


def _scan_into(
    tools: list[Any],
    table: Mapping[str, str | None],
    needed: set[str],
    unknown: set[str],
    *,
    nested: bool,
) -> None:
    for tool in tools:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if not isinstance(kind, str):
            unknown.add(MALFORMED_TOOL)
            continue
        capability = table.get(kind, _UNKNOWN)
        if isinstance(capability, str):
            needed.add(capability)
            if kind == "shell" and _has_skills(tool):
                needed.add("skills")
        elif capability is _UNKNOWN:
            unknown.add(kind)
        elif kind == "namespace" and not nested:
            # The spec nests function and custom tools one level down; deeper is not read, so a
            # body cannot choose how long this takes.
            inner = tool.get("tools")
            if isinstance(inner, list):
                _scan_into(inner, table, needed, unknown, nested=True)


def _has_skills(tool: Mapping[str, Any]) -> bool:
    """Skills ride on the shell tool's environment (a hosted container's or a local one's)."""
    environment = tool.get("environment")
    if not isinstance(environment, dict):
        return False
    skills = environment.get("skills")
    return isinstance(skills, list) and bool(skills)


def _output_cap(get: Callable[[str], Any], field: str, least: int) -> int | None:
    """The client's output cap in `field`; None when absent or null. Anything else that is not
    an integer of at least `least` gets OpenAI's 400 here, before a budget is reckoned with it
    or laneway sets a cap beside it."""
    value = get(field)
    # `type(...) is int`: JSON true is a bool, and bool is an int subclass.
    if type(value) is int and value >= least:
        return value
    if value is None:
        return None
    if type(value) is not int:
        raise invalid_type(field, "an integer", value)
    raise ApiError(
        400,
        f"Invalid '{field}': integer below minimum value. Expected a value >= {least}, but got "
        f"{value} instead.",
        param=field,
        code="integer_below_min_value",
    )


def _bad_choices(value: object) -> None:
    if type(value) is not int:
        raise invalid_type("n", "an integer", value)
    if value < 1:
        raise ApiError(
            400,
            f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {value} "
            "instead.",
            param="n",
            code="integer_below_min_value",
        )
    raise invalid_value("n", f"Invalid 'n': expected a value <= {MAX_CHOICES}, but got {value}.")


def output_param(endpoint: Endpoint, body: Mapping[str, Any]) -> str:
    """The field the request's output cap was read from (for errors that name it)."""
    if endpoint == "responses":
        return "max_output_tokens"
    value = body.get("max_completion_tokens")
    return "max_completion_tokens" if type(value) is int else "max_tokens"


def output_too_large(param: str, most: int, model: str, limit: int) -> ApiError:
    """OpenAI's 400 for an output cap above what the model can write."""
    return invalid_value(
        param,
        f"Invalid '{param}': {most} is too large. The model '{model}' writes at most {limit} "
        f"output tokens, whereas you provided {most}.",
    )


def _all_str(mapping: dict[Any, Any]) -> bool:
    # A loop, not all(...): no generator to build on the hot path.
    for key, value in mapping.items():  # noqa: SIM110
        if not (isinstance(key, str) and isinstance(value, str)):
            return False
    return True
