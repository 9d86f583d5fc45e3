"""The HTTP API: thin FastAPI routes over xai_gov's services."""
