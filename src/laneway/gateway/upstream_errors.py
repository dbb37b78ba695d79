"""Turning an upstream's failure into the error the client gets, in OpenAI's shape.

The upstream's own error passes through (status, message, type, param, code), every configured
upstream secret struck from its text (an upstream may quote the key it was sent in any error),
except where it would mislead or could hold part of a secret: a 401 from upstream is about
laneway's provider key, not the client's, and OpenAI's 401 message quotes part of that key, so
its text is replaced. A 404
`model_not_found` gains what to check.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from laneway.upstream.providers import Candidate
from laneway.upstream.secrets import Redactor
from laneway.wire.errors import ApiError

# Upstream headers a client may see on an error: its request id and when to come back.
_PASSED = ("x-request-id", "retry-after", "retry-after-ms")


def from_upstream(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    candidate: Candidate,
    redact: Redactor,
    hint: str = "",
) -> ApiError:
    """`hint`: for a model laneway does not know, " Did you mean ...?" (or "")."""
    provider = candidate.provider
    passed = {name: redact.text(headers[name]) for name in _PASSED if name in headers}
    error = _error_object(body)
    message = redact.text(str(error.get("message") or f"upstream answered HTTP {status}"))
    kind = redact.text(str(error.get("type") or _default_type(status)))
    code = error.get("code")
    code = redact.text(str(code)) if code is not None else None
    param = error.get("param")
    param = redact.text(param) if isinstance(param, str) else None
    if status == 401:
        key = f"${provider.key_env}" if provider.key_env else "its configured key"
        message = (
            f"The upstream provider {provider.name!r} rejected laneway's credentials for it "
            f"(read from {key}). This is the gateway's configuration, not your laneway key: "
            "check that the variable holds a valid key for that provider's project."
        )
    elif status == 404 and code == "model_not_found":
        message += (
            f" (laneway asked provider {provider.name!r} for model {candidate.model!r}. Check the"
            " project's model usage restrictions, and that a restricted key has permission"
            " for this model and endpoint.)" + hint
        )
    return ApiError(
        status,
        message,
        type=kind,
        param=param,
        code=code,
        headers=passed,
    )


def _default_type(status: int) -> str:
    return "server_error" if status >= 500 else "invalid_request_error"


def _error_object(body: bytes) -> dict[str, object]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else {}


def no_answer(candidate: Candidate, reason: str, *, timed_out: bool) -> ApiError:
    where = f"provider {candidate.provider.name!r}, model {candidate.model!r}"
    if timed_out:
        return ApiError(
            504,
            f"The upstream did not answer in time ({where}): {reason}.",
            type="server_error",
            code="upstream_timeout",
        )
    return ApiError(
        502,
        f"The upstream could not be reached or dropped the request ({where}): {reason}.",
        type="server_error",
        code="upstream_unreachable",
    )


def no_provider(model: str, hint: str = "") -> ApiError:
    return ApiError(
        404,
        f"The model `{model}` does not exist or you do not have access to it. "
        "(laneway: no configured provider serves this model.)" + hint,
        code="model_not_found",
    )
