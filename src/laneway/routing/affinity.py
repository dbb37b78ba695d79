"""Which provider and model produced a response, so a `previous_response_id` follow-up goes back
there: the conversation's state lives with the deployment that produced it.

Bounded and in memory: a follow-up whose id has been forgotten (a restart, another replica, or
too many responses ago) is routed like a new request. Shared state joins later.

Kept out of the garbage collector's sight: a full store held in an OrderedDict of tuples added
~2 ms to every full collection (100,000 entries walked). Both tables here map strings to small
ints, which CPython never tracks, so they stay untracked dicts; the (provider, model) pairs the
ints stand for are few and kept once each. Remembering is also cheaper: a table is dropped whole
instead of one entry evicted per response.
"""

from __future__ import annotations


class Affinity:
    """The homes of the last `capacity / 2` to `capacity` responses: new ones fill a table; a
    full table becomes the older one, and the older one before it is forgotten at once."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._half = max(1, capacity // 2)
        self._recent: dict[str, int] = {}
        self._older: dict[str, int] = {}
        self._places: list[tuple[str, str]] = []  # (provider, model) by number
        self._numbers: dict[tuple[str, str], int] = {}

    def remember(self, response_id: str, provider: str, model: str) -> None:
        place = (provider, model)
        number = self._numbers.get(place)
        if number is None:
            number = self._numbers[place] = len(self._places)
            self._places.append(place)
        recent = self._recent
        recent[response_id] = number
        if len(recent) >= self._half:
            self._older, self._recent = recent, {}

    def home_of(self, response_id: str) -> tuple[str, str] | None:
        """(provider, model) that produced `response_id`, if still remembered."""
        number = self._recent.get(response_id)
        if number is None:
            number = self._older.get(response_id)
            if number is None:
                return None
        return self._places[number]

    def __len__(self) -> int:
        return len(self._recent) + len(self._older)
