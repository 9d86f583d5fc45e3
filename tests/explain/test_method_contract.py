"""The method contract: the engine runs whatever is registered, and moving LIME, Anchor, SHAP and the
counterfactual onto it changed no stored number."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.stores.make_store import register_examples
from xai_gov.config import Settings
from xai_gov.errors import InvalidInput
from xai_gov.explain import methods
from xai_gov.explain.engine import ExplainOptions
from xai_gov.explain.records import ExplanationRecord
from xai_gov.policies.models import known_metrics
from xai_gov.sdk import Client

V1_STORE = Path(__file__).parents[1] / "fixtures" / "stores" / "v1.sqlite"
V1_POLICIES = V1_STORE.parent / "policies"  # policies/ at d63cb2a, where the fixture was written


def v1_records() -> list[ExplanationRecord]:
    with sqlite3.connect(V1_STORE) as db:
        rows = db.execute("SELECT record FROM explanations ORDER BY requested_at").fetchall()
    return [ExplanationRecord.from_dict(json.loads(record)) for (record,) in rows]


def test_records_stored_before_the_contract_replay_field_for_field(tmp_path: Path) -> None:
    """The fixture's five records (both examples; written at d63cb2a, before the contract) are stored in a
    fresh store beside the same two models, trained and registered the same way, and replayed."""
    # The policy files as they were when the fixture was written: a verdict names its policy's hash.
    client = Client(Settings(policies_dir=V1_POLICIES), home=tmp_path / "home",
                    database_url=f"sqlite:///{tmp_path / 'store.db'}")
    try:
        assert register_examples(client) == ("credit-risk@1", "loans@1")
        old = v1_records()
        assert {r.background_sha256 for r in old} == {client.get_model(ref).background_sha256
                                                      for ref in ("credit-risk@1", "loans@1")}
        for record in old:  # re-explanations first need the record they re-explain
            assert client.explanations.store_many([record], re_explain=record.re_explains is not None) == [record]
        for record in old:
            report = client.replay(record.id)
            # (the records name their policy and reason-code files by the fixture's paths, under /work/main: a
            # replay compares them by file name, as after any move)
            differing = [c.field for c in report.fields if c.field != "library_versions" and not c.matches]
            assert differing == [], (record.decision_id, differing)
    finally:
        client.close()


def test_every_registered_method_keeps_the_contract() -> None:
    registered = methods.registered()
    assert [m.name for m in registered] == ["lime", "anchor", "shap", "counterfactual"]
    assert [m.section for m in registered] == ["lime", "anchor", "shap", "counterfactuals"]
    for method in registered:
        assert set(method.bounds) <= {f for f in method.params.__dataclass_fields__}, method.name
        assert all(metric.path.split(".")[0] in {"fidelity", "stability", "sparsity", "recourse"}
                   for metric in method.metrics)
        assert {metric.path for metric in method.metrics} <= known_metrics()  # the policy may name every one


def test_parameters_are_checked_by_each_methods_bounds() -> None:
    options = ExplainOptions.build(["lime", "counterfactual"], 3, lime={"num_samples": 300},
                                   counterfactual={"count": 2})
    assert options.params["lime"].num_samples == 300 and options.params["counterfactual"].count == 2
    assert options.parameters()["counterfactual"] == {"count": 2, "max_changes": 3, "beam_size": 10, "grid": 10}
    assert "counterfactual" not in ExplainOptions.build(["lime"]).parameters()  # only where it ran
    assert {"lime", "anchor"} <= set(ExplainOptions.build(["shap"]).parameters())  # as records always had
    for parameters, field in (({"lime": {"num_samples": 10}}, "parameters.lime.num_samples"),
                              ({"counterfactual": {"grid": 1.5}}, "parameters.counterfactual.grid"),
                              ({"shap": {"kernel_samples": 8}}, "parameters.shap"),
                              ({"anchor": {"engine": "other"}}, "parameters.anchor.engine"),
                              ({"lime": {"__class__": 1}}, "parameters.lime.__class__")):
        with pytest.raises(InvalidInput) as refused:
            ExplainOptions.build(None, 0, **parameters)
        assert refused.value.field == field
    with pytest.raises(InvalidInput, match="choose from lime, anchor, shap, counterfactual"):
        ExplainOptions.build(["dice"])


TOY = """
from dataclasses import dataclass
from typing import Any, ClassVar
from collections.abc import Mapping

from xai_gov.explain.method import Bound, Job, Method, Metric, Outcome


@dataclass(frozen=True)
class ToyParams:
    scale: float = 1.0


class Toy(Method):
    name = "toy"
    section = "toys"
    title = "Toy"
    summary = "the applicant's largest number, scaled"
    order = 35
    params = ToyParams
    bounds: ClassVar[Mapping[str, Bound]] = {"scale": Bound(0.5, 2.0)}
    metrics = (Metric("fidelity.toy.largest", "The largest number, scaled.", "fidelity"),)

    def build(self, space: Any) -> Any:
        return space

    def run(self, state: Any, job: Job) -> Outcome:
        largest = float(max(abs(v) for v in job.x)) * job.params.scale
        return Outcome(section={"largest": largest}, scores={"fidelity.toy": {"largest": largest}})


METHOD = Toy()
"""


@pytest.fixture
def with_a_toy_method(tmp_path: Path) -> Iterator[None]:
    """A new method as a new module of the methods package, and nothing else."""
    (tmp_path / "toy.py").write_text(TOY)
    methods.__path__.append(str(tmp_path))
    methods.registered.cache_clear()
    try:
        yield
    finally:
        methods.__path__.remove(str(tmp_path))
        methods.registered.cache_clear()
        sys.modules.pop("xai_gov.explain.methods.toy", None)


def test_a_new_method_is_one_module_and_everything_else_finds_it(with_a_toy_method: None, client: Client,
                                                                 small_model, german_xy) -> None:
    assert methods.names() == ("lime", "anchor", "shap", "toy", "counterfactual")
    assert "fidelity.toy.largest" in known_metrics()  # a policy rule may name its score
    X, y = german_xy
    version = client.register(small_model, X, y, name="toys", adverse_class="bad", code_path=None)
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[1].items()}
    record = client.explain(version.ref, applicant, decision_id="T-1", methods=["lime", "toy"],
                            parameters={"toy": {"scale": 2.0}, "lime": {"num_samples": 300, "repeats": 2}})
    assert record.methods == ("lime", "toy") and record.section("toys")["largest"] > 0
    assert record.scores["fidelity"]["toy"] == record.section("toys")
    assert record.parameters["toy"] == {"scale": 2.0}
    assert client.replay(record.id).matches and client.verify_ledger().ok
    with pytest.raises(InvalidInput) as refused:
        client.explain(version.ref, applicant, decision_id="T-2", methods=["toy"], parameters={"toy": {"scale": 9}})
    assert refused.value.field == "parameters.toy.scale"
    # No renderer yet: the packet is whole without its part, and shows its parameters.
    assert client.export_decision(record.id).startswith(b"%PDF")
