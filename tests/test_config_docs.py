"""The configuration reference is generated from the models and must stay current."""

from __future__ import annotations

from pathlib import Path

from appliance import config_docs

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_reference_matches_the_models() -> None:
    stale = (
        "docs/configuration.md is stale: python -m appliance.config_docs > docs/configuration.md"
    )
    assert DOC.read_text(encoding="utf-8") == config_docs.render(), stale


def test_every_field_is_described() -> None:
    undocumented = [line for line in config_docs.render().splitlines() if line.endswith("|  |")]
    assert undocumented == []
