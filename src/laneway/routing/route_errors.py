"""The errors routing answers itself: an output cap above the model's, a lane none of whose
candidates can serve the request (400) or is up now (503), a model no provider can take now."""

from __future__ import annotations

from laneway.pricing.model_spec import ModelSpec
from laneway.routing.explain import Route
from laneway.routing.lanes import Lane
from laneway.wire.errors import ApiError
from laneway.wire.features import output_param, output_too_large
from laneway.wire.request import ApiRequest


def check_output(request: ApiRequest, most: int, spec: ModelSpec | None) -> None:
    """OpenAI's 400 for an output cap above the requested model's max output."""
    limit = spec.max_output_tokens if spec is not None else None
    if limit is not None and most > limit:
        param = output_param(request.endpoint, request.body)
        raise output_too_large(param, most, request.model, limit)


def cannot_serve(lane: Lane, route: Route, health: bool) -> ApiError:
    reasons = "; ".join(f"{c.label}: {c.reason}" for c in route.considered if not c.kept)
    if health:
        return ApiError(
            503,
            f"No candidate of lane '{lane.name}' is available now ({reasons}).",
            type="server_error",
            code="lane_unavailable",
        )
    return ApiError(
        400,
        f"No candidate of lane '{lane.name}' can serve this request ({reasons}).",
        param="model",
        code="lane_cannot_serve",
    )


def unavailable(model: str, route: Route) -> ApiError:
    reasons = "; ".join(f"{c.label}: {c.reason}" for c in route.considered)
    return ApiError(
        503,
        f"The model '{model}' is not available now ({reasons}).",
        type="server_error",
        code="model_unavailable",
    )
