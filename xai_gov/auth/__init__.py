"""API keys and the roles they carry (DESIGN §5)."""
