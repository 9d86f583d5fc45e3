"""Explanations: LIME, Anchor and SHAP over a registered model version, with quality scores."""
