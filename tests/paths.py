"""Where the tests find the project's shared reference material (shared/ beside the checkout)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
OPENAI_SPEC = SHARED / "openai-spec"
