"""Wire shapes of monitoring: the request; the run is the core's ``MonitoringReport`` as stored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Instant


class MonitorIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "since": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}]})

    since: Instant | None = Field(default=None, description="Window start, inclusive; earlier decisions are the "
                                                             "reference for explanation and trust drift")
    until: Instant | None = Field(default=None, description="Window end, exclusive (default: now)")
    reference_since: Instant | None = None
    reference_until: Instant | None = Field(default=None, description="Reference window end (default: since)")
