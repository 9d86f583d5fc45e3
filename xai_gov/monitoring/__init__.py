"""Monitoring stored decisions: input, prediction, explanation and trust drift, fair-lending metrics (DESIGN §10)."""
