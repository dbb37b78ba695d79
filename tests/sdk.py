"""The official OpenAI SDK as the tests' client: strict response validation, no retries."""

from __future__ import annotations

from openai import OpenAI


def sdk(base_url: str, api_key: str = "sk-test", **options: float) -> OpenAI:
    return OpenAI(
        base_url=base_url,
        api_key=api_key,
        max_retries=0,
        _strict_response_validation=True,
        **options,  # type: ignore[arg-type]
    )
