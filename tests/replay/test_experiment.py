"""An experiment file is typed (unknown keys rejected, in laneway's words), and its cells are the
baseline first, then the candidates' matrix, with efforts a model lacks skipped and said."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from laneway.errors import ConfigError, UnknownModelError
from laneway.pricing.catalog import Catalog
from laneway.replay.experiment import AS_WRITTEN, Cell, ExperimentConfig, cells

CATALOG = Catalog.load()


def experiment(tmp_path: Path, text: str) -> ExperimentConfig:
    path = tmp_path / "experiment.toml"
    path.write_text(text)
    return ExperimentConfig.load(path)


def test_a_matrix_expands_baseline_first_and_skips_an_effort_a_model_lacks(
    tmp_path: Path,
) -> None:
    loaded = experiment(
        tmp_path,
        """
        workloads = ["support.jsonl"]
        baseline = { model = "GPT-5.2", effort = "none" }
        repeats = 3
        spend_cap_usd = 5.00

        [candidates]
        models = ["gpt-5.2", "gpt-5.4"]
        efforts = ["none", "minimal", "low"]
        """,
    )
    assert loaded.repeats == 3
    assert loaded.spend_cap_usd == Decimal("5.00")  # exact, never a float
    chosen, notes = cells(loaded, CATALOG)
    assert [c.label for c in chosen] == [
        "gpt-5.2@none",  # the baseline, once, though the matrix asks for it too
        "gpt-5.2@low",
        "gpt-5.4@none",
        "gpt-5.4@low",
    ]
    assert chosen[0].baseline
    assert not any(c.baseline for c in chosen[1:])
    assert notes == [
        "gpt-5.2@minimal skipped: gpt-5.2 supports none, low, medium, high, xhigh",
        "gpt-5.4@minimal skipped: gpt-5.4 supports none, low, medium, high, xhigh",
    ]


def test_a_list_of_cells_and_a_baseline_as_written(tmp_path: Path) -> None:
    loaded = experiment(
        tmp_path,
        """
        workloads = ["a.jsonl", "b.jsonl"]

        [candidates]
        cells = [{ model = "gpt-5.4-nano", effort = "low" }, { model = "gpt-5.4-mini" }]
        """,
    )
    chosen, notes = cells(loaded, CATALOG)
    assert chosen == [
        Cell(AS_WRITTEN, None, baseline=True),
        Cell("gpt-5.4-nano", "low"),
        Cell("gpt-5.4-mini", None),
    ]
    # The catalog does not list nano's efforts: only the provider can say, so it is sent.
    assert notes == ["gpt-5.4-nano: efforts unknown to the catalog; low sent as asked"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('workloads = ["w"]\n[candidates]\nmodels = ["gpt-5.4"]\nrepeat = 2\n', "repeat"),
        ('workloads = []\n[candidates]\nmodels = ["gpt-5.4"]\n', "workloads"),
        ('workloads = ["w"]\n[candidates]\n', "at least one candidate model"),
        (
            'workloads = ["w"]\n[candidates]\nmodels = ["gpt-5.4"]\n'
            'cells = [{ model = "gpt-5.4" }]\n',
            "either models and efforts",
        ),
        ('workloads = ["w"]\n[candidates]\nmodels = ["gpt-5.4"]\nefforts = ["fast"]\n', "fast"),
        ('workloads = ["w"]\nspend_cap_usd = 0\n[candidates]\nmodels = ["gpt-5.4"]\n', "spend"),
    ],
)
def test_a_bad_experiment_file_is_named_in_laneways_words(
    tmp_path: Path, text: str, said: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        experiment(tmp_path, text)
    message = str(raised.value)
    assert said in message
    assert "experiment.toml" in message
    assert "Extra inputs are not permitted" not in message
    assert "Value error," not in message


def test_an_unknown_model_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    loaded = experiment(tmp_path, 'workloads = ["w"]\n[candidates]\nmodels = ["gpt-5.4-minii"]\n')
    with pytest.raises(UnknownModelError, match=r"did you mean 'gpt-5\.4-mini'"):
        cells(loaded, CATALOG)
