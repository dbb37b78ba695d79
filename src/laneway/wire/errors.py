"""OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`, all four keys present.

`ApiError` is an exception carrying the HTTP status and the four fields; both the emulator and
the gateway raise it and render it with `body()`. Constructors below give the exact messages
OpenAI uses for the common cases (shared/openai-wire.md). `as_api_error` gives any other failure
its answer: a `LanewayError` with a status of its own in OpenAI's shape, anything else the
generic 500 (its detail stays in the log).
"""

from __future__ import annotations

from typing import Any

import orjson

from laneway.errors import LanewayError


class ApiError(LanewayError):
    """An error to send to an API client in OpenAI's shape. Its status is its own, or, when it
    relays an upstream's error, the upstream's."""

    status: int

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}
        # The request's metadata (laneway.gateway.answer.AnswerMeta) once it has a ledger
        # record, or only the record (laneway.ledger.record.LedgerRecord: a refusal recorded
        # before routing): the server sends it as x-laneway-* headers.
        self.meta: object = None

    def to_json(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def body(self) -> bytes:
        return orjson.dumps(self.to_json())


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """400 invalid_request_error."""
    return ApiError(400, message, param=param, code=code)


def missing_parameter(param: str) -> ApiError:
    return ApiError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def invalid_type(param: str, expected: str, got: object) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {json_type_name(got)} instead.",
        param=param,
        code="invalid_type",
    )


def invalid_value(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


def unknown_parameter(param: str) -> ApiError:
    return ApiError(400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def model_not_found(model: str, hint: str = "") -> ApiError:
    """`hint`: laneway's " Did you mean ...?" (or "")."""
    return ApiError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.{hint}",
        param=None,
        code="model_not_found",
    )


def response_not_found(response_id: str) -> ApiError:
    """A stored response that does not exist, or is another key's (the same answer)."""
    return ApiError(404, f"Response with id '{response_id}' not found.")


def previous_response_not_found(response_id: str) -> ApiError:
    return ApiError(
        400,
        f"Previous response with id '{response_id}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


def missing_api_key() -> ApiError:
    return ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an "
        "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    )


def incorrect_api_key(detail: str) -> ApiError:
    return ApiError(401, f"Incorrect API key provided{detail}", code="invalid_api_key")


def invalid_json() -> ApiError:
    return ApiError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
        "sent was not valid JSON.)",
    )


_JSON_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),  # before int: bool is an int subclass
    (int, "an integer"),
    (float, "a decimal"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)


def json_type_name(value: object) -> str:
    """How OpenAI's messages name a JSON value's type."""
    if value is None:
        return "null"
    for kind, name in _JSON_TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def insufficient_quota(detail: str) -> ApiError:
    """429 as OpenAI sends it when the account's quota is spent. Retrying cannot help until the
    window turns, so the SDK is told not to (`x-should-retry: false`)."""
    return ApiError(
        429,
        f"You exceeded your current quota: {detail}",
        type="insufficient_quota",
        code="insufficient_quota",
        headers={"x-should-retry": "false"},
    )


def rate_limit_exceeded(message: str, kind: str, retry_after_s: float | None) -> ApiError:
    """429 rate_limit_exceeded, `type` "requests" or "tokens"; `retry-after` (whole seconds,
    rounded up) and `retry-after-ms` when waiting helps, `x-should-retry: false` when it cannot."""
    headers: dict[str, str] = {}
    if retry_after_s is None:
        headers["x-should-retry"] = "false"
    else:
        headers["retry-after"] = str(max(1, -int(-retry_after_s // 1)))
        headers["retry-after-ms"] = str(max(1, round(retry_after_s * 1000)))
    return ApiError(429, message, type=kind, code="rate_limit_exceeded", headers=headers)


def limits_unavailable() -> ApiError:
    """503 when the shared limits store cannot be reached and laneway fails closed."""
    return ApiError(
        503,
        "laneway cannot reach its shared limits store, so it cannot admit requests "
        "safely right now. Try again shortly.",
        type="server_error",
        code="limits_unavailable",
        headers={"retry-after": "1"},
    )


def limits_resyncing() -> ApiError:
    """503 while the shared limits store, having lost its data, is restored from the ledger:
    requests under a budget wait for it (whatever `on_unavailable` says), briefly."""
    return ApiError(
        503,
        "laneway's shared limits store lost its data and budgets are being restored from the "
        "ledger, so no request under a budget can be admitted safely right now. Try again "
        "shortly.",
        type="server_error",
        code="limits_resyncing",
        headers={"retry-after": "1", "x-should-retry": "true"},
    )


def wait_text(seconds: float) -> str:
    """A wait as OpenAI's rate-limit messages write it: "120ms", "1.500s"."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    return f"{seconds:.3f}s"


def permission_denied(message: str) -> ApiError:
    return ApiError(403, message, code="permission_denied")


def internal_error() -> ApiError:
    return ApiError(
        500,
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )


def as_api_error(error: BaseException) -> ApiError:
    """The answer a client gets for `error`: itself when it is an ApiError, a LanewayError's
    own status and message, else the generic 500 (never a detail of an unexpected failure)."""
    if isinstance(error, ApiError):
        return error
    status = error.status if isinstance(error, LanewayError) else None
    if status is None:
        return internal_error()
    kind = "server_error" if status >= 500 else "invalid_request_error"
    code = error.code if isinstance(error, LanewayError) else None
    return ApiError(status, str(error), type=kind, code=code)
