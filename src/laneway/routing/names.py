"""The model names a gateway knows, as the router reads a request's `model`.

Known: the catalog's names and those providers list. An exact name costs one set lookup (the
hot path); on a miss, a case variant of exactly one known name is renamed to it (the body the
upstream gets says the canonical name), and a name still unknown gets its "did you mean" hint,
for the 404 the provider will likely answer. Hints are remembered for a bounded number of
names: a provider serving any model may be sent unlisted names on every request.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from laneway.pricing.catalog import Catalog
from laneway.pricing.names import ModelNames, did_you_mean
from laneway.routing.lane_config import AUTO, LANE_PREFIX
from laneway.routing.lanes import LaneTable
from laneway.upstream.providers import Provider
from laneway.wire.request import ApiRequest

_HINTS_KEPT = 1024


class ServedNames:
    def __init__(self, catalog: Catalog, providers: Sequence[Provider]) -> None:
        listed = [name for provider in providers for name in provider.models]
        self.known = ModelNames([*catalog.names, *listed])
        self._hints: dict[str, str] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.known

    def rename(self, request: ApiRequest, table: LaneTable) -> str | None:
        """Rename the request's model in place when it is a case variant of exactly one known
        name; the name the client sent, or None when nothing changed. `auto` and lane names are
        left as they are."""
        model = request.model
        if model == AUTO or model.startswith(LANE_PREFIX) or table.named(model) is not None:
            return None
        canonical = self.known.resolve(model)
        if canonical is None or canonical == model:
            return None
        body = dict(request.body)
        body["model"] = canonical
        request.body = body
        request.raw = orjson.dumps(body)
        request.model = canonical
        return model

    def hint(self, model: str) -> str:
        """' Did you mean ...?' for an unknown name with close known names, else ''."""
        hint = self._hints.get(model)
        if hint is None:
            hint = did_you_mean(self.known.suggest(model))
            if len(self._hints) < _HINTS_KEPT:
                self._hints[model] = hint
        return hint
