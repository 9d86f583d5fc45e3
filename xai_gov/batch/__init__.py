"""Batch explanation: many decisions of one model version, resumable by decision id.

Rows come from a CSV file (``rows.py``); a runner computes records on a local
process pool, in this process, or on a Dask cluster (``runners.py``); the
submitting process stores each record with its ledger event as it arrives
(``service.py``), in groups of what arrives together, one transaction each
(``writer.py``), so an interrupted batch keeps what it finished and a rerun
skips every decision already explained.
"""
