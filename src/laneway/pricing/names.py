"""Model names as people type them: exact first, then case-insensitive, then "did you mean".

One matcher for every place a model name is read (the gateway, `cost`, `route`, `keys
--models`): an exact name is a set lookup; only a miss is case-folded, and a folded name
resolves only when exactly one known name folds to it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence

_SUGGESTIONS = 3
_CUTOFF = 0.6


class ModelNames:
    """A fixed set of known model names (catalog ids, snapshots, aliases; names providers list)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._exact = frozenset(names)
        by_fold: dict[str, list[str]] = {}
        for name in sorted(self._exact):
            by_fold.setdefault(name.casefold(), []).append(name)
        # Ambiguous folds (two names differing only in case) resolve to nothing.
        self._folded = {fold: found[0] for fold, found in by_fold.items() if len(found) == 1}
        self._sorted = sorted(self._exact)

    def __contains__(self, name: object) -> bool:
        return name in self._exact

    def __iter__(self) -> Iterator[str]:
        return iter(self._sorted)

    def resolve(self, name: str) -> str | None:
        """The known name `name` means: itself, or the one known name it matches ignoring case;
        None when it matches none (or several)."""
        if name in self._exact:
            return name
        return self._folded.get(name.casefold())

    def suggest(self, name: str) -> list[str]:
        """Known names close to `name`, closest first (compared ignoring case)."""
        folded = {known.casefold(): known for known in self._sorted}
        close = difflib.get_close_matches(name.casefold(), list(folded), _SUGGESTIONS, _CUTOFF)
        return [folded[match] for match in close]


def did_you_mean(suggestions: Sequence[str]) -> str:
    """ " Did you mean 'a' or 'b'?" (with its leading space), or "" for no suggestion."""
    if not suggestions:
        return ""
    return " Did you mean " + " or ".join(f"'{s}'" for s in suggestions) + "?"
