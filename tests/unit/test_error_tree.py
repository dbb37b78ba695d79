"""One error tree: every exception laneway defines derives from LanewayError, is documented in
laneway.errors with the status it declares, and reaches an API client with that status."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import laneway
from laneway import errors
from laneway.errors import LanewayError
from laneway.http.messages import HttpError
from laneway.upstream.transport import NoAnswer, NotSent
from laneway.wire.errors import ApiError, as_api_error


def defined_exceptions() -> dict[str, type[BaseException]]:
    """Every public exception class defined in a laneway module, by name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(laneway.__path__, "laneway."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[name] = value
    return found


EXCEPTIONS = defined_exceptions()
# "Name   status ..." rows of the tree drawn in laneway.errors' docstring.
DOCUMENTED = dict(
    re.findall(r"(?:[├└]── |^    )(\w+)\s+(own|-|\d{3}(?:/\d{3})?)?", errors.__doc__ or "", re.M)
)


def test_the_package_defines_a_real_number_of_exceptions() -> None:
    assert len(EXCEPTIONS) >= 25  # a walk that found nothing would pass everything below


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
def test_every_exception_is_in_the_tree_and_documented(name: str) -> None:
    assert issubclass(EXCEPTIONS[name], LanewayError), f"{name} is outside the tree"
    assert name in DOCUMENTED, f"{name} is not documented in laneway.errors"


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_the_documented_status_is_the_declared_one(name: str) -> None:
    assert name in EXCEPTIONS, f"laneway.errors documents {name}, which no module defines"
    documented = DOCUMENTED[name]
    declared = EXCEPTIONS[name].status  # type: ignore[attr-defined]
    if documented in ("own", "502/504"):
        assert "status" in EXCEPTIONS[name].__annotations__  # set per instance
    elif documented in ("-", ""):
        assert declared is None or name in SUBCLASSES_INHERITING
    else:
        assert declared == int(documented)


# Rows whose status column is blank: they inherit their parent's.
SUBCLASSES_INHERITING = {"NotSent", "NoAnswer", "BodyBroken"}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.UnknownModelError("gpt-9"), 404, "model_not_found"),
        (errors.UsageError("negative"), 400, None),
        (EXCEPTIONS["QuotaUnavailable"]("timeout"), 503, "limits_unavailable"),
        (EXCEPTIONS["LedgerUnavailable"]("down"), 503, None),
        (EXCEPTIONS["KeyNotFound"]("team-x"), 404, "key_not_found"),
        (NoAnswer("read timed out", timed_out=True), 504, "upstream_timeout"),
        (NotSent("refused"), 502, "upstream_unreachable"),
        (HttpError(413, "too large", "request_too_large"), 413, "request_too_large"),
    ],
)
def test_a_client_gets_the_declared_status_and_code(
    error: LanewayError, status: int, code: str | None
) -> None:
    answer = as_api_error(error)
    assert (answer.status, answer.code) == (status, code)
    assert answer.message == str(error)
    assert answer.type == ("server_error" if status >= 500 else "invalid_request_error")


def test_an_error_without_a_status_is_the_generic_500_and_says_nothing_of_itself() -> None:
    for error in (ValueError("secret detail"), errors.ConfigError("secret detail")):
        answer = as_api_error(error)
        assert answer.status == 500
        assert "secret detail" not in answer.message


def test_an_api_error_is_answered_as_it_is() -> None:
    error = ApiError(429, "slow down", type="requests", code="rate_limit_exceeded")
    assert as_api_error(error) is error
