from __future__ import annotations

from pathlib import Path

import pytest

from xai_gov.config import Settings
from xai_gov.datasets import GERMAN_CREDIT_LABELS
from xai_gov.errors import InvalidInput
from xai_gov.explain.reasons import REASON_CODES_FILE, VAGUE, ReasonMap
from xai_gov.registry.schema import FeatureSchema

SHIPPED = Settings().resolved_policies_dir / REASON_CODES_FILE


def test_the_shipped_map_covers_every_german_credit_feature_plainly() -> None:
    reasons = ReasonMap.load(SHIPPED)
    assert set(reasons.codes) == set(GERMAN_CREDIT_LABELS) - {"credit_risk"}
    assert {name for name, code in reasons.codes.items() if code.protected} == {
        "age", "personal_status_sex", "foreign_worker"}
    statements = [c.statement for c in reasons.codes.values()] + [
        s for c in reasons.codes.values() for s in c.by_category.values()]
    assert not [s for s in statements if any(v in s.lower() for v in VAGUE)]
    assert len({c.code for c in reasons.codes.values()}) == len(reasons.codes)


def test_principal_reasons_push_toward_adverse_at_most_four_and_protected_withheld(
        german_xy: tuple, ) -> None:
    X, y = german_xy
    schema = FeatureSchema.infer(X, y, adverse_class="bad", labels=GERMAN_CREDIT_LABELS)
    names = schema.names
    instance = X.iloc[0].to_dict()
    contributions = {names.index(n): v for n, v in [("age", 0.5), ("checking_account", 0.4), ("savings", 0.3),
                                                   ("housing", 0.2), ("job", 0.1), ("purpose", 0.05),
                                                   ("duration_months", -0.6)]}
    reasons, withheld = ReasonMap.load(SHIPPED).principal_reasons(contributions, schema, instance, source="shap")
    assert [r.feature for r in reasons] == ["checking_account", "savings", "housing", "job"]
    assert withheld == ["age"]
    assert reasons[0].statement == "Checking account overdrawn"  # by category: below 0 DM
    assert reasons[0].code == "R01" and reasons[0].contribution == 0.4


def test_a_vague_map_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reasons.yaml"
    path.write_text("features:\n  age:\n    code: R1\n    statement: Does not meet internal standards\n")
    with pytest.raises(InvalidInput, match="too vague"):
        ReasonMap.load(path)
    path.write_text("features:\n  age:\n    statement: Age\n")
    with pytest.raises(InvalidInput, match="needs a code and a statement"):
        ReasonMap.load(path)
