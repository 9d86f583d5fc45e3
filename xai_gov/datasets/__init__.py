"""Data sets shipped inside the package (no download at run time)."""

from xai_gov.datasets.german_credit import GERMAN_CREDIT_LABELS, load_german_credit

__all__ = ["GERMAN_CREDIT_LABELS", "load_german_credit"]
