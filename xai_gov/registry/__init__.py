"""Model versions, their adapters, feature schemas and artifacts."""
