"""The default number of workers counts the cores this process may use, not the host's (issue 15)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xai_gov import config
from xai_gov.batch.runners import PoolRunner, SerialRunner, make_runner


@pytest.mark.parametrize(("affinity", "cpu_max", "expected"), [
    (8, None, 8),                 # no cgroup quota file: the affinity
    (8, "max 100000", 8),         # no quota
    (8, "200000 100000", 2),      # docker run --cpus 2
    (8, "150000 100000", 2),      # 1.5 CPUs: rounded up
    (8, "50000 100000", 1),       # half a CPU: at least one worker
    (2, "800000 100000", 2),      # the affinity is the smaller
    (4, "garbled", 4),            # an unreadable quota is ignored
])
def test_available_cores_reads_the_affinity_and_the_cgroup_quota(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, affinity: int, cpu_max: str | None, expected: int) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(affinity)))
    quota = tmp_path / "cpu.max"
    if cpu_max is not None:
        quota.write_text(cpu_max + "\n")
    monkeypatch.setattr(config, "CGROUP_CPU_MAX", quota)
    assert config.available_cores() == expected


def test_a_batch_defaults_to_the_available_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from xai_gov.batch import runners

    monkeypatch.setattr(runners, "available_cores", lambda: 3)
    runner = make_runner()
    assert isinstance(runner, PoolRunner) and runner.workers == 3
    monkeypatch.setattr(runners, "available_cores", lambda: 1)
    assert isinstance(make_runner(), SerialRunner)
