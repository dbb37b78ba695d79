"""Which provider and model produced a response, and for which key, so a `previous_response_id`
follow-up goes back there (the conversation's state lives with the deployment that produced it)
and a stored response's calls reach it only from the key that made it.

Bounded and in memory, per process: an id forgotten here (a restart, another replica, too many
responses ago) is looked up in Redis, then the ledger (`laneway.gateway.stored_responses`).

Kept out of the garbage collector's sight: a full store held in an OrderedDict of tuples added
~2 ms to every full collection (100,000 entries walked). Both tables here map strings to small
ints, which CPython never tracks, so they stay untracked dicts; the (provider, model, owner key)
places the ints stand for are few (providers x models x keys) and kept once each. Remembering
is also cheaper: a table is dropped whole instead of one entry evicted per response.
"""

from __future__ import annotations


class Affinity:
    """The homes of the last `capacity / 2` to `capacity` responses: new ones fill a table; a
    full table becomes the older one, and the older one before it is forgotten at once."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._half = max(1, capacity // 2)
        self._recent: dict[str, int] = {}
        self._older: dict[str, int] = {}
        self._homes: list[tuple[str, str]] = []  # (provider, model) by number
        self._owners: list[str | None] = []  # the owner key's id by number
        self._numbers: dict[tuple[str, str, str | None], int] = {}

    def remember(
        self, response_id: str, provider: str, model: str, owner: str | None = None
    ) -> None:
        """`owner`: the id of the key that made it (None: anonymous, no keys configured)."""
        place = (provider, model, owner)
        number = self._numbers.get(place)
        if number is None:
            number = self._numbers[place] = len(self._homes)
            self._homes.append((provider, model))
            self._owners.append(owner)
        recent = self._recent
        recent[response_id] = number
        if len(recent) >= self._half:
            self._older, self._recent = recent, {}

    def home_of(self, response_id: str) -> tuple[str, str] | None:
        """(provider, model) that produced `response_id`, if still remembered."""
        number = self._number(response_id)
        return None if number is None else self._homes[number]

    def place_of(self, response_id: str) -> tuple[str, str, str | None] | None:
        """(provider, model, owner key id) of `response_id`, if still remembered."""
        number = self._number(response_id)
        if number is None:
            return None
        return (*self._homes[number], self._owners[number])

    def forget(self, response_id: str) -> None:
        self._recent.pop(response_id, None)
        self._older.pop(response_id, None)

    def _number(self, response_id: str) -> int | None:
        number = self._recent.get(response_id)
        if number is None:
            return self._older.get(response_id)
        return number

    def __len__(self) -> int:
        return len(self._recent) + len(self._older)
