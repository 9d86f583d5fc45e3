"""Agreement between LIME and SHAP: the "disagreement problem" (Krishna et al. 2022)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xai_gov.quality.stability import top_features


@dataclass(frozen=True)
class AgreementScores:
    """``top_n_overlap``: |top-n(LIME) ∩ top-n(SHAP)| / n (Krishna et al.'s feature agreement).
    ``sign_agreement``: among those shared features, the share whose contributions point the
    same way (their signed agreement); None when they share none."""

    top_n: int
    top_n_overlap: float
    sign_agreement: float | None
    shared_features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"top_n": self.top_n, "top_n_overlap": self.top_n_overlap, "sign_agreement": self.sign_agreement,
                "shared_features": list(self.shared_features)}


def lime_shap_agreement(lime: dict[int, float], shap: dict[int, float], names: list[str], *,
                        top_n: int) -> AgreementScores:
    lime_top, shap_top = top_features(lime, top_n), top_features(shap, top_n)
    shared = [j for j in lime_top if j in set(shap_top)]
    signs = [(lime[j] > 0) == (shap[j] > 0) for j in shared]
    return AgreementScores(top_n=top_n, top_n_overlap=len(shared) / top_n,
                           sign_agreement=sum(signs) / len(signs) if signs else None,
                           shared_features=tuple(names[j] for j in shared))
