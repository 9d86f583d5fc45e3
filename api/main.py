"""The FastAPI application factory (``uvicorn api.main:create_app --factory``)."""

from __future__ import annotations

from fastapi import FastAPI

import xai_gov


def create_app() -> FastAPI:
    app = FastAPI(title="xai-gov", version=xai_gov.__version__,
                  description="Explainability and model governance for credit decisions.")

    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers.")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": xai_gov.__version__}

    return app
