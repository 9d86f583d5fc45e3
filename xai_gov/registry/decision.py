"""The bank's decision rule for a model version, and the decision on one applicant (DESIGN §8).

A model gives probabilities; the bank decides. Each version carries its rule:
the adverse class and a cutoff on that class's probability. An applicant whose
adverse probability is at or above the cutoff is declined (adverse), anyone else
is approved (favourable) — not the more probable class. The rule is set at
registration and stored with the version (a new rule is a new version).

A request may carry the bank's actual decision as a class name. When it differs
from the rule's, the decision recorded is the bank's, marked "decision
overridden by the bank"; an adverse decision gets principal reasons either way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from xai_gov.errors import InvalidInput

Outcome = Literal["adverse", "favourable"]
DEFAULT_CUTOFF = 0.5
OVERRIDDEN = "decision overridden by the bank"


def check_cutoff(value: Any) -> float:
    """A cutoff is a number strictly between 0 and 1; anything else is refused, naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"cutoff takes a number strictly between 0 and 1, got {value!r}", field="cutoff")
    number = float(value)
    if not math.isfinite(number) or not 0.0 < number < 1.0:
        raise InvalidInput(f"cutoff {value!r} is outside (0, 1): it is the probability of the adverse class at "
                           "and above which the bank declines", field="cutoff")
    return number


@dataclass(frozen=True)
class DecisionRule:
    """Adverse when P(adverse class) >= cutoff, else favourable."""

    adverse_class: str
    cutoff: float = DEFAULT_CUTOFF

    def __post_init__(self) -> None:
        check_cutoff(self.cutoff)
        if not isinstance(self.adverse_class, str) or not self.adverse_class:
            raise InvalidInput("a decision rule names its adverse class", field="adverse_class")

    def decide(self, adverse_probability: float) -> Outcome:
        return "adverse" if adverse_probability >= self.cutoff else "favourable"

    def describe(self) -> str:
        return f"decline ('{self.adverse_class}') when P({self.adverse_class}) >= {self.cutoff:g}"

    def to_dict(self) -> dict[str, Any]:
        return {"adverse_class": self.adverse_class, "cutoff": self.cutoff, "rule": self.describe()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionRule:
        return cls(adverse_class=str(data["adverse_class"]), cutoff=float(data["cutoff"]))


@dataclass(frozen=True)
class Decision:
    """The decision on one applicant: the rule's, the bank's if it gave one, and which stands."""

    rule: DecisionRule
    adverse_probability: float
    by_rule: Outcome
    bank_class: str | None  # the class the bank says it decided, if the request carried one
    by_bank: Outcome | None
    reasons_asked: bool  # a favourable decision gets "what counted against" only when asked

    @property
    def outcome(self) -> Outcome:
        """What happened to the applicant: the bank's decision when given, else the rule's."""
        return self.by_bank or self.by_rule

    @property
    def overridden(self) -> bool:
        return self.by_bank is not None and self.by_bank != self.by_rule

    @property
    def adverse(self) -> bool:
        return self.outcome == "adverse"

    @property
    def reasons_kind(self) -> str | None:
        if self.adverse:
            return "principal reasons"
        return "what counted against" if self.reasons_asked else None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule.to_dict(), "adverse_probability": self.adverse_probability,
                "by_rule": self.by_rule, "bank_decision": self.bank_class, "by_bank": self.by_bank,
                "outcome": self.outcome, "overridden": self.overridden,
                "note": OVERRIDDEN if self.overridden else None, "reasons": self.reasons_kind}


def decide(rule: DecisionRule, adverse_probability: float, class_names: Sequence[str], *,
           bank_decision: str | None = None, reasons_asked: bool = False) -> Decision:
    """The rule applied to one applicant, with the bank's actual decision (a class name) if given."""
    by_bank: Outcome | None = None
    if bank_decision is not None:
        if not isinstance(bank_decision, str) or bank_decision not in class_names:
            raise InvalidInput(f"the bank's decision {bank_decision!r} is not one of the model's classes "
                               f"{list(class_names)}", field="bank_decision")
        by_bank = "adverse" if bank_decision == rule.adverse_class else "favourable"
    return Decision(rule=rule, adverse_probability=adverse_probability, by_rule=rule.decide(adverse_probability),
                    bank_class=bank_decision, by_bank=by_bank, reasons_asked=bool(reasons_asked))
