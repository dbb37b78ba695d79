"""The upstream secrets laneway holds (providers' keys), struck from upstream text it relays,
logs or stores: an upstream's error may quote the key it was sent, whatever its status.

Built once from the providers; used only on error paths, so it costs an answer nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from laneway.upstream.providers import Provider

REDACTED = "sk-...redacted"
_MIN_SECRET = 8  # shorter is no secret worth the name, and would strike ordinary words


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first: a key that contains another is struck whole.
        kept = {secret for secret in secrets if len(secret) >= _MIN_SECRET}
        self._secrets = tuple(sorted(kept, key=len, reverse=True))
        self._encoded = tuple(secret.encode() for secret in self._secrets)

    def text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def data(self, data: bytes) -> bytes:
        for secret in self._encoded:
            if secret in data:
                data = data.replace(secret, REDACTED.encode())
        return data


NO_SECRETS = Redactor(())


def provider_redactor(providers: Iterable[Provider]) -> Redactor:
    """Every provider's key, as its `authorization` header carries it."""
    bearer = "Bearer "
    return Redactor(
        header.removeprefix(bearer)
        for provider in providers
        if (header := provider.headers.get("authorization"))
    )
