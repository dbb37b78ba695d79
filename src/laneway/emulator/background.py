"""Background responses (`background: true`): answered at once as "queued", "in_progress" once
time has passed, "completed" after a simulated duration on the emulator's clock (no real waits:
tests advance a `ManualClock`), or "cancelled" by `POST /v1/responses/{id}/cancel`.

Time moves only when someone looks: every call that can see a background response (a create, a
retrieve, a cancel, the bill's queries) first calls `advance`, which finishes those that are due.
A completed response is billed at the moment it completed, in full; a cancelled one for what the
model generated until then (input in full, output in proportion to the time it ran; reasoning
comes first), or nothing under `abandoned_billing = "none"`. The cancelled object carries that
usage, so whoever cancels learns what it cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from laneway.clock import Clock
from laneway.emulator.config import AbandonedBilling
from laneway.emulator.responses_api import ResponseDraft, output_items, response_object
from laneway.emulator.stored_responses import StoredResponses
from laneway.usage import Usage
from laneway.wire.errors import invalid_request
from laneway.wire.usage import responses_usage_json

# Bills one response's usage: (usage, when, the create's request id); the engine's bill.
Billing = Callable[[Usage, float, str | None], None]


@dataclass(slots=True)
class Job:
    draft: ResponseDraft
    started: float  # clock.time() at the create
    due: float  # when it completes
    bill: Billing
    request_id: str | None
    running: bool = False  # "in_progress" already written to the store


class BackgroundJobs:
    def __init__(self, clock: Clock, store: StoredResponses, policy: AbandonedBilling) -> None:
        self._clock = clock
        self._store = store
        self._policy = policy
        self._jobs: dict[str, Job] = {}

    def start(self, job: Job) -> dict[str, Any]:
        """Queue `job`; its "queued" response object (also what the store holds for now)."""
        self._jobs[job.draft.response_id] = job
        return _pending(job.draft, "queued")

    def advance(self) -> None:
        """Finish the responses that are due (billed at their due time); mark the others as
        running once any time has passed."""
        if not self._jobs:
            return
        now = self._clock.time()
        for response_id, job in list(self._jobs.items()):
            if now >= job.due:
                del self._jobs[response_id]
                draft = job.draft
                job.bill(draft.usage, job.due, job.request_id)
                final = response_object(draft, output_items(draft))
                self._store.replace_response(response_id, orjson.dumps(final))
            elif now > job.started and not job.running:
                job.running = True
                pending = _pending(job.draft, "in_progress")
                self._store.replace_response(response_id, orjson.dumps(pending))

    def cancel(self, key_id: str, response_id: str) -> bytes:
        """Cancel a queued or running response (billed for what it generated); a cancelled one
        again answers as it is. Another key's, or an unknown id: 404."""
        self.advance()
        stored = self._store.response(key_id, response_id)  # 404 unless the key's own
        job = self._jobs.pop(response_id, None)
        if job is None:
            status = orjson.loads(stored)
            if status.get("status") == "cancelled":
                return stored
            if not status.get("background"):
                raise invalid_request("Cannot cancel a synchronous response.")
            raise invalid_request(f"Cannot cancel a response with status '{status['status']}'.")
        now = self._clock.time()
        billed = self._generated(job, now)
        if billed is not None:
            job.bill(billed, now, job.request_id)
        cancelled = _pending(job.draft, "cancelled")
        cancelled["usage"] = responses_usage_json(billed) if billed is not None else None
        body = orjson.dumps(cancelled)
        self._store.replace_response(response_id, body)
        return body

    def running(self, response_id: str) -> bool:
        return response_id in self._jobs

    def _generated(self, job: Job, now: float) -> Usage | None:
        if self._policy == "none":
            return None
        usage = job.draft.usage
        span = job.due - job.started
        share = 1.0 if span <= 0 else min(1.0, max(0.0, (now - job.started) / span))
        output = int(usage.output_tokens * share)
        return Usage(
            input_tokens=usage.input_tokens,
            output_tokens=output,
            cached_input_tokens=usage.cached_input_tokens,
            reasoning_tokens=min(usage.reasoning_tokens, output),
        )


def _pending(draft: ResponseDraft, status: str) -> dict[str, Any]:
    response = response_object(draft, [], final=False)
    response["status"] = status
    return response
