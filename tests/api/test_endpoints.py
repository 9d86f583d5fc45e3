"""Every endpoint as its role uses it, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import pandas as pd
import skops.io
from sklearn.pipeline import Pipeline

from tests.api.conftest import Api


def test_health_ready_and_metrics(api: Api) -> None:
    assert api.http.get("/healthz").json()["status"] == "ok"
    assert api.http.get("/readyz").json()["status"] == "ready"
    api.http.get("/v1/models", headers=api.as_("officer"))
    metrics = api.http.get("/metrics").text
    assert 'xai_gov_http_requests_total{method="GET",route="/v1/models",status="200"}' in metrics


def _lock_waits(api: Api) -> float:
    from prometheus_client.parser import text_string_to_metric_families
    families = {f.name: f for f in text_string_to_metric_families(api.http.get("/metrics").text)}
    return next(s.value for s in families["xai_gov_ledger_lock_wait_seconds"].samples if s.name.endswith("_count"))


def test_metrics_show_how_long_transactions_waited_for_the_ledgers_lock(api: Api) -> None:
    """A lineage lookup appends to the ledger (who looked at what), so it waits for the ledger's lock: the wait
    is counted, on either database."""
    before = _lock_waits(api)
    assert api.http.get("/v1/lineage/credit-risk@1", headers=api.as_("auditor")).status_code == 200
    assert _lock_waits(api) > before


def test_owner_registers_from_files_and_moves_an_alias(api: Api, small_model: Pipeline,
                                                       german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = german_xy
    version = api.client.get_model("credit-risk@1")
    files = {
        "artifact": ("model.skops", skops.io.dumps(small_model)),
        "background": ("background.csv", X.head(60).to_csv(index=False).encode()),
        "schema": ("schema.json", json.dumps(version.schema.to_dict()).encode()),
        "lineage": ("lineage.json", json.dumps({"trainer": "alice", "commit": "b" * 40,
                                                "metrics": {"auc": 0.8}}).encode()),
    }
    response = api.http.post("/v1/models", data={"name": "credit-risk", "alias": "challenger"}, files=files,
                             headers=api.as_("owner"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["ref"] == "credit-risk@2" and body["aliases"] == ["challenger"]
    assert body["lineage"]["code_commit"] == "b" * 40 and body["lineage"]["metrics"] == {"auc": 0.8}
    assert body["schema"]["adverse_class"] == "bad"
    moved = api.http.put("/v1/models/credit-risk/aliases/staging", json={"version": 2}, headers=api.as_("owner"))
    assert moved.status_code == 200 and moved.json()["from_version"] == 1 and moved.json()["to_version"] == 2
    listed = api.http.get("/v1/models", headers=api.as_("auditor")).json()
    assert listed[0]["aliases"] == {"challenger": 2, "staging": 2}
    got = api.http.get("/v1/models/credit-risk@staging", headers=api.as_("officer")).json()
    assert got["version"] == 2


def test_officer_explains_and_sees_only_their_own(api: Api) -> None:
    created = api.explain()
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["decision_id"] == "LOAN-1" and record["requested_by"].startswith("officer-1")
    assert record["verdict"]["policy"]["name"] == "default" and record["record_sha256"]
    assert [row["criterion"] for row in record["quality"]] == ["fidelity", "stability", "sparsity", "coverage"]
    assert f"anchor rule of {record['scores']['sparsity']['anchor']['rule_length']} condition" in \
        record["quality"][2]["value"]
    mine = api.http.get(f"/v1/explanations/{record['id']}", headers=api.as_("officer"))
    assert mine.status_code == 200 and mine.json() == record
    theirs = api.http.get(f"/v1/explanations/{record['id']}", headers=api.as_("officer2"))
    assert theirs.status_code == 404 and theirs.json()["code"] == "explanation_not_found"
    assert api.http.get("/v1/explanations", headers=api.as_("officer2")).json()["items"] == []
    everything = api.http.get("/v1/explanations?decision_id=LOAN-1", headers=api.as_("auditor")).json()
    assert [r["id"] for r in everything["items"]] == [record["id"]]
    replay = api.http.post(f"/v1/explanations/{record['id']}/replay", headers=api.as_("auditor")).json()
    assert replay["matches"] is True
    assert 'xai_gov_explanation_step_seconds_count{step="lime"} 1.0' in api.http.get("/metrics").text


def test_auditor_looks_lineage_up_and_verifies(api: Api) -> None:
    api.explain()
    auditor = api.as_("auditor")
    data_hash = api.client.get_model("credit-risk@1").lineage.data_sha256
    assert api.http.get("/v1/lineage/credit-risk@staging", headers=auditor).json()["ref"] == "credit-risk@1"
    for query in (f"data_hash={data_hash}", "trainer=alice", "decision_id=LOAN-1", "since=2000-01-01T00:00:00Z"):
        found = api.http.get(f"/v1/lineage?{query}", headers=auditor)
        assert found.status_code == 200 and [v["ref"] for v in found.json()] == ["credit-risk@1"], query
    verified = api.http.get("/v1/audit/verify", headers=auditor).json()
    assert verified["ok"] is True and verified["records"]["explanations"] == 1
    actions = [e["action"] for e in api.http.get("/v1/audit/events", headers=auditor).json()]
    assert actions.count("lineage.lookup") == 5 and "explanation.created" in actions


def test_admin_manages_keys(api: Api) -> None:
    created = api.http.post("/v1/keys", json={"name": "audra", "role": "auditor"}, headers=api.as_("admin"))
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith("xg_") and key["role"] == "auditor"
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert api.http.get("/v1/audit/verify", headers=headers).status_code == 200
    assert all("key" not in k for k in api.http.get("/v1/keys", headers=api.as_("admin")).json())
    assert api.http.delete(f"/v1/keys/{key['id']}", headers=api.as_("admin")).json()["revoked_at"]
    revoked = api.http.get("/v1/audit/verify", headers=headers)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


def test_multipart_upload_of_a_bad_schema_is_named(api: Api, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = german_xy
    buffer = io.BytesIO(X.head(10).to_csv(index=False).encode())
    response = api.http.post("/v1/models", data={"name": "m", "python": "tests.registry.fixtures_models:amount_rule"},
                             files={"background": ("b.csv", buffer), "schema": ("s.json", b"{not json")},
                             headers=api.as_("owner"))
    assert response.status_code == 422 and response.json()["field"] == "schema"
    assert "schema is not valid JSON" in response.json()["detail"]


def test_packets_over_http(api: Api) -> None:
    record = api.explain().json()
    own = api.http.get(f"/v1/explanations/{record['id']}/packet", headers=api.as_("officer"))
    assert own.status_code == 200 and own.headers["content-type"] == "application/pdf"
    assert own.content.startswith(b"%PDF") and api.client.verify_packet(own.content).ok
    assert api.http.get(f"/v1/explanations/{record['id']}/packet", headers=api.as_("officer2")).status_code == 404
    model = api.http.get("/v1/models/credit-risk@1/packet", headers=api.as_("auditor"))
    assert model.status_code == 200 and model.content.startswith(b"%PDF")
    denied = api.http.get("/v1/models/credit-risk@1/packet", headers=api.as_("officer"))
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    exports = [e for e in api.client.audit_events(limit=1000) if e.action == "packet.exported"]
    assert [e.subject for e in exports] == [f"decision {record['id']}", "model credit-risk@1"]
