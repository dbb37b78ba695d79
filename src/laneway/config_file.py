"""Reading a TOML file into a strict pydantic model, with errors that name file and field."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from laneway.config_problems import problems
from laneway.errors import LanewayError

M = TypeVar("M", bound=BaseModel)
# An environment variable's name, as config fields that name one must write it.
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Strict(BaseModel):
    """Config sections: unknown keys are errors, values are frozen once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load_toml(model: type[M], path: Path, error: type[LanewayError]) -> M:
    try:
        # Decimal: money in config (cost ceilings, caps) stays exact; float fields accept it.
        raw = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: is not valid TOML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # One line per problem, each naming the file: the CLI prints each as its own line.
        raise error("\n".join(f"{path}: {line}" for line in problems(exc))) from None
