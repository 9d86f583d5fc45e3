"""How far to trust an explanation: fidelity, stability, agreement (DESIGN §4)."""
