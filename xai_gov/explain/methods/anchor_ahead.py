"""Asking ahead: the batches an anchor search will probably ask for next (issue 9, item 6).

With the per-candidate sampler (``AnchorParams.sampler``) the k-th batch of candidate t
is a function of the search's seed, t, k and the batch size only, so the rows a search
will ask for can be drawn before it asks, and sent to a remote model with the call the
search needs anyway. A wrong guess costs rows, never a different anchor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from xai_gov.explain.methods.anchor_search import AnchorParams, AnchorSpace, _State

Tuple = tuple[int, ...]  # sorted predicate indices
FRESH_DRAW = 2**31 - 1  # the draw index of the final rule's fresh samples (a stream no search step uses)


class AskingAhead:
    """What ``AnchorSearch`` may ask for next, from its stage and the rows drawn so far."""

    space: AnchorSpace
    x: np.ndarray
    params: AnchorParams
    state: _State
    reestimate: bool
    per_candidate: bool
    root: int  # the seed of every candidate's own stream
    draws: dict[Tuple, int]  # batches drawn so far per candidate
    drawn: dict[tuple[Tuple, int, int], np.ndarray]  # rows drawn ahead, by (t, k, n)
    stage: tuple[str, list[Tuple]]  # what the search is doing
    pending: np.ndarray | None  # rows asked for and not yet labelled

    def rows(self, t: Tuple, k: int, n: int) -> np.ndarray:
        """The k-th batch (of n rows) of candidate t: a function of the search's seed, t, k and n only
        (per-candidate sampler)."""
        key = (t, k, n)
        if key not in self.drawn:
            rng = np.random.default_rng([self.root, k, n, len(t), *t])
            self.drawn[key] = self.space.sample(self.x, [self.state.predicates[p] for p in t], n, rng)
        return self.drawn[key]

    def speculate(self, budget: int) -> list[np.ndarray]:
        """Batches the search may ask for in its next steps, most likely first, about ``budget`` distinct rows.

        A guess from the search's stage: while candidates are compared (LUCB), the next batches of
        every candidate, the most precise first, and the first batches of the likeliest picks'
        extensions (the next size's candidates); while a pick is refined, its next batches, the fresh
        re-estimate's rows and its extensions' batches. A wrong guess costs rows, never a change in
        the result: every batch is the candidate's own stream's, asked for or not. Batches of one
        candidate share most rows (background rows with the same features forced), and a row is sent
        once, so a generous guess costs far fewer distinct rows than it names. Nothing with the shared
        sampler (its next rows depend on the order they are asked for)."""
        if not self.per_candidate:
            return []
        params, state = self.params, self.state
        kind, tuples = self.stage
        plan: list[tuple[Tuple, int]] = []  # (candidate, draws ahead of its next)
        fresh: list[Tuple] = []  # candidates whose fresh re-estimate may come next
        if kind == "empty":
            arms = [(p,) for p in range(len(state.predicates))]
            plan += [((), d) for d in range(4)] + [(t, d) for d in range(6) for t in arms]
        elif kind == "lucb":
            ranked = sorted(tuples, key=lambda t: -state.t_pos.get(t, 0.0) / max(state.t_n.get(t, 0.0), 1.0))
            fresh = ranked[:1]
            plan += [(t, d) for d in range(2) for t in ranked]
            plan += [(e, d) for d in range(3) for e in self._extensions(ranked[0])]
            plan += [(t, d) for d in range(2, 8) for t in ranked]
            plan += [(e, d) for d in range(3) for t in ranked[1:3] for e in self._extensions(t)]
            plan += [(e, d) for d in range(3, 6) for e in self._extensions(ranked[0])]
        elif kind == "refine":
            fresh = tuples
            plan += [(t, d) for t in tuples for d in range(8)]
            plan += [(e, d) for d in range(8) for t in tuples for e in self._extensions(t)]
        out: list[np.ndarray] = []
        if self.reestimate:
            out += [self.rows(t, FRESH_DRAW, params.fresh_samples) for t in fresh]
        distinct = {row.tobytes() for rows in out for row in rows}
        members = self._members_so_far()
        for t, ahead in plan:
            if len(distinct) >= budget:
                break
            k = self.draws.get(t, 0) + ahead
            # anchor-exp gives a candidate no sample satisfies yet one sample first, then whole batches; one
            # with none so far may have some by the time it is drawn (samples of other candidates): both
            sizes = [1, params.batch_size] if k == 0 and self._predicted_n(t, members) == 0 else [params.batch_size]
            for n in sizes:
                rows = self.rows(t, k, n)
                out.append(rows)
                distinct.update(row.tobytes() for row in rows)
        return out

    def first_rows(self, budget: int) -> list[np.ndarray]:
        """The rows the search asks for first and those it will likely ask for next, before it has started
        (they do not depend on the model): to send ahead with an explanation's first call."""
        if not self.per_candidate:
            return []
        return [self.rows((), 0, 1), *self.speculate(budget)]

    def _members_so_far(self) -> np.ndarray:
        members = self.state.all_members()
        if self.pending is None:
            return members
        pending = self.space.membership(self.pending, self.space.discretize(self.pending), self.state.predicates)
        return np.vstack([members, pending])

    def _extensions(self, t: Tuple) -> list[Tuple]:
        return [tuple(sorted({*t, f})) for f in range(len(self.state.predicates)) if f not in t]

    def _predicted_n(self, t: Tuple, members: np.ndarray) -> int:
        """How many samples a candidate not yet sampled would start with (those drawn so far that satisfy it)."""
        state = self.state
        if t in state.t_n:
            return int(state.t_n[t])
        parent = max((p for p in state.t_idx if len(p) == len(t) - 1 and set(p) <= set(t)),
                     key=lambda p: state.t_n[p], default=None) if len(t) > 1 else None
        rows = state.t_idx[parent] if parent is not None else np.arange(len(members))
        return int(members[rows][:, list(t)].all(axis=1).sum()) if len(t) else len(members)
