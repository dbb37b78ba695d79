"""`laneway route --explain request.json`: where the gateway would send a request, and why,
without sending it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson
from rich.table import Table

from laneway.cli.config_option import assembly_of, config_option
from laneway.cli.errors import CliError
from laneway.cli.output import print_json, stdout_console
from laneway.pricing.worst_case import WorstCase
from laneway.routing.expected_cost import TYPICAL_OUTPUT
from laneway.routing.router import Plan
from laneway.routing.worst_view import WorstView, worst_view
from laneway.wire.errors import ApiError
from laneway.wire.request import Endpoint, read_request

EXIT_REFUSED = 1


@click.command("route")
@click.option(
    "--explain",
    "request_path",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    required=True,
    help="A request body (JSON) to explain; - reads standard input.",
)
@config_option
@click.option(
    "--endpoint",
    type=click.Choice(["responses", "chat"]),
    default=None,
    help="The API it is sent to [default: chat when it has messages, else responses].",
)
@click.option("--lane", "header_lane", default=None, help="As if sent with x-laneway-lane.")
@click.option("--key-lane", default=None, help="As if the client key's default lane were this.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def route_command(
    request_path: Path,
    config_path: Path | None,
    endpoint: str | None,
    header_lane: str | None,
    key_lane: str | None,
    as_json: bool,
) -> int:
    """Explain the routing decision for a request body: the lane, every candidate considered
    (kept or skipped, and why), the effort sent and the order attempts would take. Nothing is
    sent. Exit status 1 when the gateway would refuse the request."""
    raw = _read(request_path)
    with assembly_of(config_path) as parts:
        router = parts.dry_router()
        worst = WorstCase(parts.catalog)
        allowance = parts.config.budgets.output_allowance
    chosen: Endpoint = _endpoint(raw, endpoint)
    try:
        request = read_request(chosen, raw)
        plan = router.plan(request, key_lane=key_lane, header_lane=header_lane)
    except ApiError as error:
        if as_json:
            print_json({"endpoint": chosen, "refused": orjson.loads(error.body())["error"]})
        else:
            click.echo(f"the gateway would answer {error.status}: {error.message}")
        return EXIT_REFUSED
    if plan.lane is None and request.model not in router.names:
        # The gateway would pass it on, but no one here knows it: the provider answers 404
        # (OpenAI's and the emulator's do), so this says what the client would see.
        message = (
            f"the gateway would send model {request.model!r} on, but it is not in the catalog "
            "and no provider lists it: the provider will likely answer 404 model_not_found."
            + plan.hint
        )
        if as_json:
            refused = {"status": 404, "code": "model_not_found", "message": message}
            print_json({"endpoint": chosen, "refused": refused})
        else:
            click.echo(message)
        return EXIT_REFUSED
    view = worst_view(worst, plan, allowance)
    if as_json:
        print_json(explanation(chosen, plan, view))
    else:
        _print(chosen, plan, view)
    return 0


def explanation(endpoint: str, plan: Plan, view: WorstView | None = None) -> dict[str, Any]:
    data = plan.route.as_dict()
    del data["chosen"]  # nothing was sent
    data["endpoint"] = endpoint
    data["attempt_order"] = [
        {"candidate": f"{c.model}@{c.provider.name}", "effort": c.effort} for c in plan.candidates
    ]
    data["expected_output_tokens"] = _expected_basis(plan)
    if view is not None:
        data["worst_case"] = view.as_dict()
    return data


def _expected_basis(plan: Plan) -> int | str:
    """What a candidate's expected cost assumes it writes, when no answer was observed yet."""
    features = plan.features
    if features is not None and features.max_output_tokens is not None:
        return features.max_output_tokens
    return f"as observed on the lane, else {TYPICAL_OUTPUT}"


def _print(endpoint: str, plan: Plan, view: WorstView | None) -> None:
    route = plan.route
    console = stdout_console()
    lane = route.lane or "none (a plain model id)"
    console.print(f"endpoint  {endpoint}", markup=False)
    console.print(f"lane      {lane}  (via {route.via})", markup=False)
    console.print(f"policy    {route.policy}", markup=False)
    for note in route.notes:
        console.print(f"note      {note}", markup=False)
    table = Table(title="candidates considered", title_justify="left")
    for column in ("candidate", "verdict", "expected cost", "effort", "reason"):
        table.add_column(column)
    for c in route.considered:
        cost = "" if c.expected_usd is None else f"${c.expected_usd:.6f}"
        table.add_row(c.label, "kept" if c.kept else "skipped", cost, c.effort or "", c.reason)
    console.print(table)
    order = ", ".join(f"{c.model}@{c.provider.name}" for c in plan.candidates)
    console.print(f"attempts would try: {order}", markup=False)
    console.print(
        f"expected cost: output {_expected_basis(plan)} tokens (a typical answer, not the most "
        "it may write)",
        markup=False,
    )
    for line in view.lines() if view is not None else ():
        console.print(line, markup=False)


def _endpoint(raw: bytes, given: str | None) -> Endpoint:
    if given == "chat":
        return "chat"
    if given == "responses":
        return "responses"
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "responses"  # read_request reports the bad JSON
    return "chat" if isinstance(body, dict) and "messages" in body else "responses"


def _read(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}") from exc
