"""Settings, read from the environment (prefix ``XAI_GOV_``) once per client."""

from __future__ import annotations

import math
import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where xai-gov keeps its data.

    ``home`` holds the artifacts and, unless ``database_url`` points elsewhere,
    the embedded SQLite database ``xai-gov.db``.
    """

    model_config = SettingsConfigDict(env_prefix="XAI_GOV_", extra="ignore")

    home: Path = Field(default=Path(".xai-gov"), description="data directory")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in home")
    background_rows: int = Field(default=200, ge=10, description="rows of training data kept as background")
    policies_dir: Path | None = Field(default=None, description="governance policies and reason codes (YAML)")
    policy: str = Field(default="default", description="the policy in force: <policies_dir>/<policy>.yaml")
    applicant_rights: str = Field(default="applicant_rights.md", description="text printed in decision packets")
    notice: str = Field(default="adverse_action_notice.yaml",
                        description="creditor, contact and agency printed on adverse action notices")
    signing_key: Path | None = Field(default=None, description="Ed25519 key signing ledger checkpoints")
    checkpoint_dir: Path | None = Field(
        default=None, description="signed checkpoints are appended here as files an auditor can copy; "
                                  "default <home>/checkpoints")
    checkpoint_every_events: int = Field(default=100, ge=1, description="the service signs after this many events")
    checkpoint_every_minutes: float = Field(default=15.0, gt=0, description="... or after this many minutes")
    checkpoint_max_lag_events: int = Field(
        default=500, ge=1, description="audit verify warns when the head is further than this past the newest "
                                       "checkpoint")
    checkpoint_auto: bool = Field(default=True, description="the HTTP service signs checkpoints on that schedule")
    checkpoint_poll_seconds: float = Field(default=10.0, gt=0, description="how often the service checks the schedule")
    # The HTTP service's limits.
    max_body_bytes: int = Field(default=64 * 2**20, ge=1024, description="largest request body accepted")
    explain_concurrency: int = Field(default=2, ge=1, description="explanations computed at once (at least "
                                                                    "explain_workers when there is a pool)")
    explain_workers: int = Field(default=0, ge=0, le=256,
                                 description="worker processes computing explanations; 0: in the calling thread "
                                             "(the SDK and CLI); `xai-gov serve` defaults to the cores it may use")
    batch_workers: int | None = Field(default=None, ge=1, le=256,
                                      description="local worker processes of a batch job submitted to the "
                                                  "service (default: the cores it may use; 1: its own thread)")
    explain_queue_seconds: float = Field(default=30.0, gt=0, description="longest wait for a free slot")
    explain_budget_seconds: float = Field(default=60.0, gt=0, description="an explanation's time budget")
    sandbox_seconds: float = Field(default=60.0, gt=0,
                                   description="time limit of an uploaded joblib artifact's first load and check")
    rate_limit_per_minute: int = Field(default=600, ge=0,
                                       description="requests one API key may send a minute (0: no limit); beyond "
                                                   "it the API answers 429 with Retry-After")

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home / 'xai-gov.db'}"

    @property
    def resolved_policies_dir(self) -> Path:
        """The configured folder, else the repository's policies/ beside the package, else ./policies."""
        if self.policies_dir is not None:
            return self.policies_dir.expanduser().resolve()
        beside_package = Path(__file__).resolve().parents[1] / "policies"
        return beside_package if beside_package.is_dir() else Path("policies").resolve()

    @property
    def policy_file(self) -> Path:
        return self.resolved_policies_dir / f"{self.policy}.yaml"

    @property
    def signing_key_path(self) -> Path:
        """Outside the database by design; default <home>/keys/audit-signing-key.pem."""
        if self.signing_key is not None:
            return self.signing_key.expanduser().resolve()
        return self.resolved_home / "keys" / "audit-signing-key.pem"

    @property
    def resolved_checkpoint_dir(self) -> Path:
        if self.checkpoint_dir is not None:
            return self.checkpoint_dir.expanduser().resolve()
        return self.resolved_home / "checkpoints"

    @property
    def artifacts_dir(self) -> Path:
        return self.resolved_home / "artifacts"


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" in microseconds, or "max ..."


def available_cores() -> int:
    """The cores this process may use: its CPU affinity (``taskset``, a container's cpuset), capped by a
    cgroup v2 CPU quota (``docker run --cpus 2``, a Kubernetes CPU limit) rounded up. ``os.cpu_count()``
    counts the host's cores and sees neither, so a service in a 2-CPU container on a 64-core host would
    start 64 workers. The default number of explanation and batch workers."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota here
    return max(1, cores)
