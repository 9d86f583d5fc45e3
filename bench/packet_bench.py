"""Time to render PDF audit packets, on the shipped model.

    .venv/bin/python bench/packet_bench.py [--explanations 1000] [--repeats 5]

Registers the demo model in a fresh data directory, explains two held-out
applicants, then stores copies of their records (new ids and decision ids, the
same content) until the version has --explanations stored explanations. Prints
the median and maximum time to render a decision packet (target under 0.3 s) and
a model-version packet over all of them (target under 3 s), measured here with
reportlab and pypdf doing all of the work (the packets are not written to disk).
Each export is PAdES-signed (pyHanko); the same renders without the signature,
in the same run, give the signature's cost as a ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from xai_gov.cli.demo import register_demo_model, two_applicants
from xai_gov.examples.credit_model import train_credit_model
from xai_gov.sdk import Client
from xai_gov.store import repos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--explanations", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    client = Client(home=tempfile.mkdtemp(prefix="xai-gov-packet-bench-"))
    trained = train_credit_model()
    version = register_demo_model(client, trained, trainer="bench")
    records = [client.explain(version.ref, applicant, decision_id=decision)
               for decision, applicant in two_applicants(client, version.ref, trained.X_test)]
    with client.database.session() as session:
        for n in range(args.explanations - len(records)):
            template = records[n % len(records)]
            repos.add_explanation(session, replace(template, id=uuid.uuid4().hex, decision_id=f"COPY-{n}"))

    def timed(action: Callable[[], object]) -> list[float]:
        out = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            action()
            out.append(time.perf_counter() - started)
        return out

    decision = timed(lambda: client.export_decision(records[1].id))
    model = timed(lambda: client.export_model(version.ref))
    signer = client.packets.signer
    client.packets.signer = _Unsigned()  # type: ignore[assignment]
    decision_unsigned = timed(lambda: client.export_decision(records[1].id))
    model_unsigned = timed(lambda: client.export_model(version.ref))
    client.packets.signer = signer
    stored = len(client.find_explanations(model=version.name, limit=500)) + sum(
        len(client.find_explanations(model=version.name, limit=500, offset=o)) for o in range(500, 5000, 500))
    print(f"{stored} stored explanations of {version.ref}; {args.repeats} renders each")
    print(f"decision packet: median {statistics.median(decision):.3f} s, max {max(decision):.3f} s "
          f"(target < 0.3 s: {'met' if statistics.median(decision) < 0.3 else 'NOT met'})")
    print(f"model packet:    median {statistics.median(model):.3f} s, max {max(model):.3f} s "
          f"(target < 3 s: {'met' if statistics.median(model) < 3.0 else 'NOT met'})")
    for name, signed, unsigned in (("decision", decision, decision_unsigned), ("model", model, model_unsigned)):
        with_signature, without = statistics.median(signed), statistics.median(unsigned)
        print(f"signing the {name} packet: +{with_signature - without:.3f} s median "
              f"({with_signature / without:.2f}x the unsigned render, {without:.3f} s)")


class _Unsigned:
    """The baseline: the same export with the signature left out."""

    def sign(self, pdf: bytes) -> bytes:
        return pdf


if __name__ == "__main__":
    main()
