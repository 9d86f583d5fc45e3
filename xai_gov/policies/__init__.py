"""Governance policies and the reason-code map (policies/*.yaml at the repository root)."""
