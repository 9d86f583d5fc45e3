"""Over HTTP: the decision rule at registration, 409 for a reused decision id, the notice (issue 10)."""

from __future__ import annotations

import io
import json

import pandas as pd
from pypdf import PdfReader

from tests.api.conftest import Api
from xai_gov.registry.schema import FeatureSchema


def test_a_reused_decision_id_is_409_and_a_re_explanation_links_back(api: Api) -> None:
    first = api.explain(decision_id="LOAN-HTTP")
    assert first.status_code == 201, first.text
    again = api.explain(decision_id="LOAN-HTTP")
    assert again.status_code == 409 and again.json()["code"] == "decision_already_explained"
    assert again.json()["field"] == "decision_id"
    linked = api.explain(decision_id="LOAN-HTTP", re_explain=True, bank_decision="bad")
    assert linked.status_code == 201, linked.text
    body = linked.json()
    assert body["re_explains"] == first.json()["id"] and body["decision"]["outcome"] == "adverse"
    assert body["reasons"] and body["decision"]["rule"]["cutoff"] == 0.5
    missing = api.explain(decision_id="LOAN-NEVER", re_explain=True)
    assert missing.status_code == 404 and missing.json()["field"] == "decision_id"
    unknown = api.explain(decision_id="LOAN-HTTP-2", bank_decision="declined")
    assert unknown.status_code == 422 and unknown.json()["field"] == "bank_decision"
    lineage = api.http.get("/v1/lineage?decision_id=LOAN-HTTP", headers=api.as_("auditor")).json()
    assert [len(v["explanations"]) for v in lineage] == [2]

    notice = api.http.get(f"/v1/explanations/{body['id']}/notice", headers=api.as_("officer"))
    assert notice.status_code == 200 and notice.headers["content-type"] == "application/pdf"
    assert "Statement of Credit Denial" in PdfReader(io.BytesIO(notice.content)).pages[0].extract_text()
    other = api.http.get(f"/v1/explanations/{body['id']}/notice", headers=api.as_("officer2"))
    assert other.status_code == 404
    assert api.http.get(f"/v1/explanations/{body['id']}/notice", headers=api.as_("auditor")).status_code == 200


def test_registration_takes_the_cutoff_and_refuses_one_outside_0_1(
        api: Api, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    schema = json.dumps(FeatureSchema.infer(X, y, adverse_class="bad").to_dict())
    files = {"background": ("bg.csv", X.head(50).to_csv(index=False)), "schema": ("schema.json", schema)}
    form = {"name": "stepped", "python": "tests.registry.fixtures_models:stepped_risk"}
    for cutoff in ("0", "1", "1.5", "-0.2", "nan"):
        refused = api.http.post("/v1/models", data={**form, "cutoff": cutoff}, files=files, headers=api.as_("owner"))
        assert refused.status_code == 422 and refused.json()["field"] == "cutoff", (cutoff, refused.text)
    created = api.http.post("/v1/models", data={**form, "cutoff": "0.35"}, files=files, headers=api.as_("owner"))
    assert created.status_code == 201, created.text
    assert created.json()["decision_rule"]["cutoff"] == 0.35
    shown = api.http.get("/v1/models/stepped@1", headers=api.as_("auditor")).json()
    assert shown["decision_rule"] == created.json()["decision_rule"]
