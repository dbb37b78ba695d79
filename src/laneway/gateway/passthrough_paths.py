"""Which other `/v1/*` paths `[passthrough] paths` opens, and for which methods.

A rule is a path, optionally after methods: "/v1/files", "/v1/files/*", "GET /v1/files/*",
"GET,DELETE /v1/files/*". A path ending in "/*" is a prefix: it opens the path itself and
everything below it. Without methods a rule opens GET, POST and DELETE (the methods OpenAI's
API uses). A requested path is compared as sent, so one that could mean another path upstream
(dot segments, empty segments, percent escapes, backslashes) matches no rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

METHODS = ("GET", "POST", "DELETE")
_PREFIX = "/v1/"
_UNSAFE = ("%", "\\", "//", "/./", "/../")


@dataclass(frozen=True, slots=True)
class PathRule:
    methods: frozenset[str]
    path: str  # without the "/*" of a prefix
    prefix: bool

    def matches(self, method: str, path: str) -> bool:
        if method not in self.methods:
            return False
        if path == self.path:
            return True
        return self.prefix and path.startswith(self.path + "/")


def parse_rule(text: str) -> PathRule:
    """A rule as written in the config; ValueError saying what is wrong."""
    methods_text, _, path = text.strip().rpartition(" ")
    methods = frozenset(m.strip().upper() for m in methods_text.split(",") if m.strip())
    unknown = sorted(methods - set(METHODS))
    if unknown:
        raise ValueError(f"{text!r}: unknown method(s) {', '.join(unknown)} (use {METHODS})")
    prefix = path.endswith("/*")
    base = path[:-2] if prefix else path
    if not base.startswith(_PREFIX) or len(base) <= len(_PREFIX) or not safe_path(base):
        raise ValueError(
            f"{text!r}: a path under /v1/ such as /v1/files or /v1/files/*, without "
            "'*' elsewhere, dot segments or escapes"
        )
    return PathRule(methods or frozenset(METHODS), base, prefix)


def safe_path(path: str) -> bool:
    """A path that means what it says: no segment upstream could resolve differently."""
    if "*" in path or path.endswith(("/.", "/..")):
        return False
    return not any(unsafe in path for unsafe in _UNSAFE)


class PathRules:
    def __init__(self, rules: Iterable[PathRule]) -> None:
        self._rules = tuple(rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def allows(self, method: str, path: str) -> bool:
        if not path.startswith(_PREFIX) or not safe_path(path):
            return False
        return any(rule.matches(method, path) for rule in self._rules)
