"""The emulator's core: a request body in, a `Reply` (what to send, and when) out.

No sockets here: the HTTP layer (`http_app.py`, via `router.py`) moves bytes; this decides
status, headers, body or stream frames, delays and faults, and keeps the bill, the prompt cache,
the rate-limit buckets and the stored conversations. Usable in-process from tests and `serve`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from laneway.clock import Clock, SystemClock
from laneway.emulator.abandoned import SentOutput, billed_usage, chat_sent, responses_sent
from laneway.emulator.background import BackgroundJobs, Job
from laneway.emulator.bill import Bill, BillEntry
from laneway.emulator.chat_api import ChatDraft, completion_object, stream_chunks
from laneway.emulator.chat_request import ChatRequest, parse_chat_request
from laneway.emulator.config import EmulatorConfig
from laneway.emulator.embeddings import (
    check_sizes,
    dimensions_of,
    embedding_list,
    parse_embeddings_request,
    vector,
)
from laneway.emulator.faults import EchoedKey, Endpoint, Fault, FaultPlan, injected_error
from laneway.emulator.files import Files
from laneway.emulator.generation import Generation, Prompted, generate
from laneway.emulator.prompt_cache import PromptCache
from laneway.emulator.rate_limits import Limits, RateLimiter
from laneway.emulator.responses_api import ResponseDraft, response_object, stream_events
from laneway.emulator.responses_api import output_items as response_output
from laneway.emulator.responses_request import (
    HOSTED_TOOL_CAPABILITY,
    ResponsesRequest,
    parse_responses_request,
)
from laneway.emulator.skill_answers import skill_generation
from laneway.emulator.stored_responses import StoredResponses
from laneway.ids import new_id
from laneway.pricing.catalog import Catalog
from laneway.pricing.model_spec import ModelSpec
from laneway.tokens import count_tokens, encode_tokens, preload
from laneway.usage import Usage
from laneway.wire.errors import (
    ApiError,
    incorrect_api_key,
    invalid_request,
    missing_api_key,
    model_not_found,
)
from laneway.wire.prompt import responses_prompt

PROJECT_ID = "proj_emulator"
_CACHE_MIN_TOKENS = 1024  # below this no prompt is cached, so no need for token ids
# Token counts and plain answers are pure functions of the prompt: memoised per engine, for
# prompts up to this many characters (whole long prompts rarely repeat; memory stays bounded).
_MEMO_ENTRIES = 4096
_MEMO_MAX_CHARS = 16_384


@dataclass(slots=True)  # not frozen: built per request, frozen costs ~7x
class Caller:
    key_id: str  # derived from the key; the secret itself is never kept
    allowed_models: frozenset[str] | None  # None: every model


@dataclass(slots=True)
class Reply:
    """What the HTTP layer sends: a JSON body, or SSE frames paced by the delays."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    frames: list[bytes] | None = None
    first_byte_delay_s: float = 0.0
    frame_delay_s: float = 0.0
    fault: Fault | None = None


@functools.lru_cache(maxsize=1024)  # few keys, many requests: hash each key once
def key_id_of(key: str) -> str:
    return "key_" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class Engine:
    def __init__(
        self, config: EmulatorConfig, catalog: Catalog, clock: Clock | None = None
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.clock = clock or SystemClock()
        self.bill = Bill(catalog, journal=config.journal_requests)
        self.cache = PromptCache(self.clock, ttl_s=config.prompt_cache_ttl_s)
        self.limiter = RateLimiter(self.clock, self._limits())
        self.faults = FaultPlan(config.seed, config.faults)
        self.files = Files()  # passthrough's stand-in: laneway forwards these unread
        self.stored = StoredResponses(config.stored_responses)
        self.background = BackgroundJobs(self.clock, self.stored, config.abandoned_billing)
        self._restricted = {key: frozenset(rule.models) for key, rule in config.keys.items()}
        preload()  # the vocabulary now, not during the first request (~0.8 s)
        self._memo_count = functools.lru_cache(maxsize=_MEMO_ENTRIES)(count_tokens)
        self._memo_plain = functools.lru_cache(maxsize=_MEMO_ENTRIES)(self._plain_answer)

    def _limits(self) -> dict[str, Limits]:
        limits: dict[str, Limits] = {}
        for spec in self.catalog:
            if self.config.tier != "none":
                published = spec.tier_limit(self.config.tier)
                if published is not None:
                    limits[spec.id] = Limits.of(published)
            override = self.config.rate_limits.get(spec.id)
            if override is not None:
                limits[spec.id] = Limits.of(override)
        return limits

    # -- authentication and models ---------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Caller:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise missing_api_key()
        key = authorization[7:].strip()
        for restricted, models in self._restricted.items():
            if hmac.compare_digest(key.encode(), restricted.encode()):
                return Caller(key_id_of(key), models)
        if not key.startswith("sk-"):
            shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)
            raise incorrect_api_key(
                f": {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
        return Caller(key_id_of(key), None)

    def _text_model(self, caller: Caller, name: str, endpoint: str) -> ModelSpec:
        """A model that writes text: an embedding model gets OpenAI's 404 for a chat call."""
        spec = self.resolve_model(caller, name)
        if spec.kind != "text":
            raise ApiError(
                404,
                f"This is not a chat model and thus not supported in the {endpoint} endpoint.",
                param="model",
            )
        return spec

    def resolve_model(self, caller: Caller, name: str) -> ModelSpec:
        spec = self.catalog.find(name)
        if spec is None or (
            caller.allowed_models is not None and not (set(spec.names) & caller.allowed_models)
        ):
            raise model_not_found(name)
        return spec

    def list_models(self, caller: Caller) -> dict[str, Any]:
        data = []
        for spec in self.catalog:
            for name in spec.names:
                if caller.allowed_models is None or name in caller.allowed_models:
                    data.append(_model_json(name))
        return {"object": "list", "data": data}

    def get_model(self, caller: Caller, name: str) -> dict[str, Any]:
        self.resolve_model(caller, name)
        return _model_json(name)

    # -- shared steps ------------------------------------------------------------------------

    def _check_effort(self, spec: ModelSpec, effort: str | None, param: str) -> str:
        effort = effort or "none"
        supported = spec.reasoning_efforts
        if supported is not None and effort not in supported:
            listed = ", ".join(f"'{e}'" for e in supported)
            raise ApiError(
                400,
                f"Unsupported value: '{param}' does not support '{effort}' with this model. "
                f"Supported values are: {listed}.",
                param=param,
                code="unsupported_value",
            )
        return effort

    def _generate(self, ask: Prompted) -> Generation:
        skilled = skill_generation(self.config.seed, self.config.skills, ask)
        if skilled is not None:  # a task of the skill model: never memoised (repeats differ)
            return skilled
        plain = not (ask.json_schema or ask.json_object or ask.functions)
        if plain and len(ask.prompt) <= _MEMO_MAX_CHARS:
            return self._memo_plain(
                ask.model, ask.prompt, ask.effort, ask.max_output_tokens, ask.choice
            )
        return generate(self.config.seed, ask, self.config.output_tokens)

    def _plain_answer(
        self, model: str, prompt: str, effort: str, max_output: int | None, choice: int
    ) -> Generation:
        ask = Prompted(model, prompt, effort, max_output, choice=choice)
        return generate(self.config.seed, ask, self.config.output_tokens)

    def _input_usage(self, spec: ModelSpec, prompt: str, cache_key: str | None) -> tuple[int, int]:
        short = len(prompt) <= _MEMO_MAX_CHARS
        tokens = self._memo_count(prompt) if short else count_tokens(prompt)
        if spec.context_window is not None and tokens > spec.context_window:
            raise ApiError(
                400,
                f"Your input exceeds the context window of this model ({tokens} tokens > "
                f"{spec.context_window}). Please adjust your input and try again.",
                param="input",
                code="context_length_exceeded",
            )
        cached = 0
        if tokens >= _CACHE_MIN_TOKENS:
            cached = self.cache.lookup_and_store(spec.id, cache_key, encode_tokens(prompt))
        return tokens, cached

    def _admit(self, spec: ModelSpec, tokens: int, max_output: int | None) -> dict[str, str]:
        estimate = tokens + (max_output or spec.max_output_tokens or 0)
        decision = self.limiter.check(spec.id, estimate)
        if decision is None:
            return {}
        if decision.error is not None:  # refused
            decision.error.headers.update(decision.headers)
            raise decision.error
        return dict(decision.headers)

    def _fault(self, endpoint: Endpoint, spec: ModelSpec, header: str | None) -> Fault | None:
        fault = self.faults.pick(endpoint, spec.id, header)
        if fault is not None and fault.kind == "status":
            raise injected_error(fault.status or 500, spec.id)
        if fault is not None and fault.kind == "echo_key":
            status = fault.status or 400
            raise EchoedKey(
                status, "", type="server_error" if status >= 500 else "invalid_request_error"
            )
        return fault

    def _bill(
        self,
        caller: Caller,
        spec: ModelSpec,
        usage: Usage,
        fault: Fault | None,
        sent: SentOutput | None,
        request_id: str | None,
    ) -> None:
        """Bill a served call: in full, or as `abandoned_billing` says for a hang or a cut."""
        if fault is not None:
            billed = billed_usage(self.config.abandoned_billing, fault, usage, sent)
            if billed is None:
                return
            usage = billed
        self._bill_at(caller.key_id, spec.id, usage, self.clock.time(), request_id)

    def _bill_at(
        self, key_id: str, model: str, usage: Usage, at: float, request_id: str | None
    ) -> None:
        self.bill.record(
            BillEntry(
                at=at,
                model=model,
                api_key_id=key_id,
                project_id=PROJECT_ID,
                batch=False,
                usage=usage,
                request_id=request_id,
            )
        )

    def _pace(self, reply: Reply, spec: ModelSpec, gens: Sequence[Generation]) -> None:
        speed = self.config.speed
        if speed == 0:
            return
        latency = self.config.latency_of(spec.id)
        thinking = sum(g.reasoning_tokens for g in gens) / latency.tokens_per_s
        visible = sum(g.visible_tokens for g in gens) / latency.tokens_per_s
        if reply.frames is None:
            reply.first_byte_delay_s = speed * (latency.ttft_s + thinking + visible)
        else:
            reply.first_byte_delay_s = speed * latency.ttft_s
            reply.frame_delay_s = speed * (thinking + visible) / max(len(reply.frames), 1)

    # -- Responses -----------------------------------------------------------------------------

    def responses(
        self,
        caller: Caller,
        body: Mapping[str, Any],
        fault: str | None,
        request_id: str | None = None,
        repeat: int = 0,
    ) -> Reply:
        """`request_id`: the id the answer goes out under, for the bill's journal; `repeat`:
        which repeat of a replayed line this is (a skill task's fresh draw)."""
        req = parse_responses_request(body)
        spec = self._text_model(caller, req.model, "v1/responses")
        effort = self._check_effort(spec, req.effort, "reasoning.effort")
        for tool in req.hosted_tools:
            if spec.capabilities.get(HOSTED_TOOL_CAPABILITY[tool]) is False:
                raise invalid_request(
                    f"Tool '{tool}' is not supported with {req.model}.", param="tools"
                )
        self.background.advance()
        history = self._history(caller, req.previous_response_id)
        prompt = responses_prompt(req.instructions, history, req.rendered_input, req.tools)
        tokens, cached = self._input_usage(spec, prompt, req.prompt_cache_key)
        injected = self._fault("responses", spec, fault)
        headers = self._admit(spec, tokens, req.max_output_tokens)
        gen = self._generate(_ask(spec, prompt, effort, req.max_output_tokens, req, 0, repeat))
        usage = Usage(
            input_tokens=tokens,
            output_tokens=gen.output_tokens,
            cached_input_tokens=cached,
            reasoning_tokens=gen.reasoning_tokens,
        )
        draft = ResponseDraft(
            request=req,
            response_id=new_id("resp"),
            created_at=int(self.clock.time()),
            model_name=spec.snapshot or spec.id,
            effort=effort,
            generation=gen,
            usage=usage,
        )
        if req.background:
            return self._start_background(caller, spec, draft, prompt, headers, request_id)
        reply = Reply(headers=headers, fault=injected)
        sent: SentOutput | None = None
        if req.stream:
            obfuscate = secrets.token_urlsafe(12) if req.include_obfuscation else None
            events = stream_events(draft, obfuscate)
            reply.frames = [_sse(kind, payload, n) for n, (kind, payload) in enumerate(events)]
            sent = responses_sent(events)
            final = events[-1][1]["response"]
        else:
            final = reply.body = response_object(draft, response_output(draft))
        if req.store:
            self._store(caller, spec, draft, prompt, final)
        self._bill(caller, spec, usage, injected, sent, request_id)
        self._pace(reply, spec, [gen])
        return reply

    def _store(
        self,
        caller: Caller,
        spec: ModelSpec,
        draft: ResponseDraft,
        prompt: str,
        response: dict[str, Any],
    ) -> None:
        """Keep a response for follow-ups and retrieval: as JSON, so the store stays untracked."""
        gen = draft.generation
        answer = gen.text or (gen.call.arguments if gen.call else "")
        self.stored.remember(
            draft.response_id,
            (
                spec.id,
                caller.key_id,
                f"{prompt}assistant: {answer}\n\n",
                orjson.dumps(response),
                orjson.dumps(draft.request.body.get("input", [])),
            ),
        )

    def _start_background(
        self,
        caller: Caller,
        spec: ModelSpec,
        draft: ResponseDraft,
        prompt: str,
        headers: dict[str, str],
        request_id: str | None,
    ) -> Reply:
        """Answer "queued" at once; it completes (and is billed) `_duration` later."""
        req = draft.request
        if req.stream:
            raise invalid_request(
                "The emulator does not stream background responses.", param="stream"
            )
        if not req.store:
            raise invalid_request(
                "Background responses must be stored: set 'store' to true.", param="store"
            )
        now = self.clock.time()
        key_id = caller.key_id

        def bill(usage: Usage, at: float, billed_id: str | None) -> None:
            self._bill_at(key_id, spec.id, usage, at, billed_id)

        job = Job(draft, now, now + self._duration(spec, draft.generation), bill, request_id)
        queued = self.background.start(job)
        self._store(caller, spec, draft, prompt, queued)
        return Reply(headers=headers, body=queued)

    def _duration(self, spec: ModelSpec, gen: Generation) -> float:
        """How long a background response runs on the emulator's clock."""
        if self.config.background_s is not None:
            return self.config.background_s
        latency = self.config.latency_of(spec.id)
        return latency.ttft_s + gen.output_tokens / latency.tokens_per_s

    def _history(self, caller: Caller, previous_response_id: str | None) -> str:
        """The stored conversation a response continues ("" for none)."""
        if previous_response_id is None:
            return ""
        return self.stored.conversation(caller.key_id, previous_response_id)

    # -- Stored responses: retrieve, delete, input items, cancel -------------------------------

    def retrieve(self, caller: Caller, response_id: str) -> Reply:
        self.background.advance()
        return Reply(body=self.stored.response(caller.key_id, response_id))

    def delete_response(self, caller: Caller, response_id: str) -> Reply:
        """Delete a stored response (a running background one is cancelled first)."""
        self.background.advance()
        if self.background.running(response_id):
            self.background.cancel(caller.key_id, response_id)
        return Reply(body=self.stored.delete(caller.key_id, response_id))

    def input_items(
        self, caller: Caller, response_id: str, params: Mapping[str, Sequence[str]]
    ) -> Reply:
        return Reply(body=self.stored.input_items(caller.key_id, response_id, params))

    def cancel(self, caller: Caller, response_id: str) -> Reply:
        return Reply(body=self.background.cancel(caller.key_id, response_id))

    # -- Chat Completions ------------------------------------------------------------------------

    def chat(
        self,
        caller: Caller,
        body: Mapping[str, Any],
        fault: str | None,
        request_id: str | None = None,
        repeat: int = 0,
    ) -> Reply:
        req = parse_chat_request(body)
        spec = self._text_model(caller, req.model, "v1/chat/completions")
        effort = self._check_effort(spec, req.effort, "reasoning_effort")
        tokens, cached = self._input_usage(spec, req.rendered, req.prompt_cache_key)
        injected = self._fault("chat", spec, fault)
        headers = self._admit(spec, tokens, req.max_completion_tokens)
        gens = tuple(
            self._generate(
                _ask(spec, req.rendered, effort, req.max_completion_tokens, req, choice, repeat)
            )
            for choice in range(req.n)
        )
        usage = Usage(
            input_tokens=tokens,
            output_tokens=sum(g.output_tokens for g in gens),
            cached_input_tokens=cached,
            reasoning_tokens=sum(g.reasoning_tokens for g in gens),
        )
        draft = ChatDraft(
            request=req,
            completion_id=new_id("chatcmpl", "-"),
            created=int(self.clock.time()),
            model_name=spec.snapshot or spec.id,
            generations=gens,
            usage=usage,
        )
        reply = Reply(headers=headers, fault=injected)
        sent: SentOutput | None = None
        if req.stream:
            chunks = stream_chunks(draft)
            reply.frames = [b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks]
            reply.frames.append(b"data: [DONE]\n\n")
            sent = chat_sent(chunks)
        else:
            reply.body = completion_object(draft)
        self._bill(caller, spec, usage, injected, sent, request_id)
        self._pace(reply, spec, gens)
        return reply

    # -- Embeddings ------------------------------------------------------------------------------

    def embeddings(
        self,
        caller: Caller,
        body: Mapping[str, Any],
        fault: str | None,
        request_id: str | None = None,
        repeat: int = 0,  # one signature for every POST; a vector is no draw
    ) -> Reply:
        req = parse_embeddings_request(body)
        spec = self.resolve_model(caller, req.model)
        if spec.kind != "embedding":
            raise invalid_request(
                f"The model '{req.model}' does not support embeddings.", param="model"
            )
        dimensions = dimensions_of(spec.id, req.dimensions)
        counts = [
            self._memo_count(item) if isinstance(item, str) else len(item) for item in req.inputs
        ]
        check_sizes(req.model, counts)
        tokens = sum(counts)
        injected = self._fault("embeddings", spec, fault)
        headers = self._admit(spec, tokens, 0)
        seed = self.config.seed
        vectors = [vector(seed, spec.id, item, dimensions) for item in req.inputs]
        reply = Reply(headers=headers, fault=injected)
        reply.body = embedding_list(req, spec.snapshot or spec.id, vectors, tokens)
        self._bill(
            caller, spec, Usage(input_tokens=tokens, output_tokens=0), injected, None, request_id
        )
        return reply


def _ask(
    spec: ModelSpec,
    prompt: str,
    effort: str,
    max_output: int | None,
    req: ResponsesRequest | ChatRequest,
    choice: int = 0,
    repeat: int = 0,
) -> Prompted:
    """What either API's request asks of the model."""
    return Prompted(
        model=spec.id,
        prompt=prompt,
        effort=effort,
        max_output_tokens=max_output,
        json_schema=req.json_schema,
        json_object=req.json_object,
        functions=req.functions,
        tool_choice=req.chosen_tool,
        last_user_text=req.last_user_text,
        answering_tool_output=req.answering_tool_output,
        choice=choice,
        repeat=repeat,
    )


def _sse(kind: str, payload: dict[str, Any], sequence: int) -> bytes:
    data = orjson.dumps({"type": kind, **payload, "sequence_number": sequence})
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def _model_json(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1_765_411_200, "owned_by": "openai"}
