"""Several pruning masks per forward (``evaluation.mask_batch``) vs one mask after another.

Both sides score the same lm-eval requests under the same masks (a head sweep's 30/50/70/90% masks of a
fixed random ranking) on the same resident model through ``Evaluator.loglikelihoods_many``: ours with
``mask_batch=4`` (each batch tiled once per mask, every block of rows under its own mask), the reference
with ``mask_batch=1``. Interleaved rounds; ratio = median over rounds of one-at-a-time / batched (above 1:
batching is faster). No target: batching trades many small forwards for fewer big ones, which pays where a
forward's fixed costs dominate (a tiny model, few documents, a GPU left idle) and not where compute does
(SmolLM2 on a CPU). The largest |Δ loglik| between the sides is printed as a check (tests: ≤ 1e-4).

Bound: with m masks per forward, a forward of fixed cost F and compute c per mask's rows costs
m·(F + c) one at a time and F + m·c batched, a speed-up of m(F + c)/(F + m·c) < m (reached only when the
fixed cost is everything). The bench prints m beside the measurement and fails above it.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np
import torch
from _timing import report_ratio, side_by_side

from iclprune.analysis.pruning import head_ranking, pruning_mask
from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model
from iclprune.model.sites import resolve

PERCENTS = (30, 50, 70, 90)


def run(name: str, model: torch.nn.Module, tok, task: str, shots: int, n_docs: int, rounds: int) -> None:
    reqs = build_requests(task_config(task), shots, limit=n_docs)
    heads = head_ranking(np.random.default_rng(0).random(resolve(model).shape))
    masks = [pruning_mask(heads, p, None, 0) for p in PERCENTS]
    one = Evaluator(model, tok, batch_size=8, mask_batch=1)
    batched = Evaluator(model, tok, batch_size=8, mask_batch=len(masks))
    one.examples(reqs)  # tokenised once per (task, shot) and reused by every mask: not timed
    ref, got = one.loglikelihoods_many(reqs, masks), batched.loglikelihoods_many(reqs, masks)
    delta = max(abs(a[0] - b[0]) for r, g in zip(ref, got, strict=True) for a, b in zip(r, g, strict=True))
    print(
        f"# {name}: {task} {shots}-shot, {reqs.n_docs} docs, {len(masks)} masks, batch_size 8, "
        f"{torch.get_num_threads()} thread(s), {rounds} interleaved rounds, max |Δ loglik| = {delta:.2e}",
        flush=True,
    )
    times = side_by_side(
        {
            "one_at_a_time": lambda: one.loglikelihoods_many(reqs, masks),
            "batched": lambda: batched.loglikelihoods_many(reqs, masks),
        },
        rounds=rounds,
    )
    report_ratio(
        f"mask_batch_vs_one_at_a_time_{name}", times, "one_at_a_time", "batched",
        bound=float(len(masks)),
        what=f"one mask per forward / {len(masks)} masks per forward, {name}, {task} {shots}-shot, "
        f"{reqs.n_docs} docs, {torch.get_num_threads()} thread(s) (no target); bound = masks per forward",
    )  # fmt: skip


def main() -> None:
    torch.set_num_threads(int(os.environ.get("ICLPRUNE_BENCH_THREADS", "1")))  # see bench_scoring.py
    opt, tok = load_model("tiny:opt", seed=0)
    run("tiny_opt", opt, tok, "icl_category", 1, 8, rounds=5)
    smollm2, tok = load_model("embedded")
    run("smollm2", smollm2, tok, "icl_category", 1, 16, rounds=3)


if __name__ == "__main__":
    main()
