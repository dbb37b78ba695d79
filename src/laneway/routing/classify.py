"""`model: "auto"`: the first configured rule that matches the request names its lane."""

from __future__ import annotations

from laneway.routing.explain import UNKNOWN_TASK
from laneway.routing.input_size import InputSize
from laneway.routing.lane_config import AutoConfig, AutoRule
from laneway.wire.features import RequestFeatures


def classify(
    auto: AutoConfig, endpoint: str, features: RequestFeatures, size: InputSize
) -> tuple[str | None, str]:
    """(lane name or None, why) for an auto request."""
    for index, rule in enumerate(auto.rules):
        if _matches(rule, endpoint, features, size):
            return rule.lane, f"auto rule {index + 1} ({describe(rule)})"
    task = features.metadata.get("task")
    if task is not None and not any(rule.metadata.get("task") == task for rule in auto.rules):
        # Said in the route (header and ledger): a task no rule names would otherwise go to the
        # default lane (often the dearest) without a word.
        unknown = f"{UNKNOWN_TASK} {str(task)[:64]!r}"
        if auto.unknown_task is not None:
            return auto.unknown_task, f"{unknown}: auto.unknown_task"
        if auto.default is not None:
            return auto.default, f"{unknown}: auto default"
        return None, f"no auto rule matched (unknown task {task!r}) and there is no auto.default"
    if auto.default is not None:
        return auto.default, "auto default"
    return None, "no auto rule matched and there is no auto.default"


def _matches(rule: AutoRule, endpoint: str, features: RequestFeatures, size: InputSize) -> bool:
    # Cheap conditions first: the token count is the only one that may need counting.
    if rule.endpoint is not None and rule.endpoint != endpoint:
        return False
    if rule.tools is not None and rule.tools != features.has_tools:
        return False
    if rule.capabilities and features.capabilities.isdisjoint(rule.capabilities):
        return False
    metadata = features.metadata
    if any(metadata.get(key) != value for key, value in rule.metadata.items()):
        return False
    if rule.min_input_tokens is not None and not size.at_least(rule.min_input_tokens):
        return False
    return rule.max_input_tokens is None or size.at_most(rule.max_input_tokens)


def describe(rule: AutoRule) -> str:
    parts = []
    if rule.endpoint is not None:
        parts.append(f"endpoint {rule.endpoint}")
    if rule.tools is not None:
        parts.append("has tools" if rule.tools else "no tools")
    if rule.capabilities:
        parts.append("needs any of " + ", ".join(rule.capabilities))
    if rule.min_input_tokens is not None:
        parts.append(f"input >= {rule.min_input_tokens:,} tokens")
    if rule.max_input_tokens is not None:
        parts.append(f"input <= {rule.max_input_tokens:,} tokens")
    parts += [f"metadata.{key} = {value!r}" for key, value in rule.metadata.items()]
    return "; ".join(parts) or "matches everything"
