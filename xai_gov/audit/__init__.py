"""The tamper-evident audit ledger, its verification and signed checkpoints."""
