"""docs/assessment.md is the dictionary for people: every indicator in code is on it."""

from pathlib import Path

from app.services.assessment.indicators import INDICATORS, SCORE

DOC = Path(__file__).resolve().parents[2] / "docs" / "assessment.md"


def test_every_indicator_is_documented_with_its_definition():
    text = DOC.read_text(encoding="utf-8")
    for indicator in (*INDICATORS.values(), SCORE):
        assert f"`{indicator.code}`" in text and indicator.name in text and indicator.definition in text
