"""(b) Evaluation with shared context vs lm-eval's stock HFLM, on a bundled multiple-choice task at 5-shot.

Also at 1-shot on SmolLM2 (``smollm2_1shot``, the embedded default's sweeps): short contexts leave less
to share, so the ratio is smaller there.

Both sides score the same lm-eval requests of the same (task, shot) on the same resident model through
``Evaluator.loglikelihoods``: ours with ``shared_context=True`` (each document's context once, every
choice from its cached keys/values, logits only where a continuation token is predicted), the reference
with ``shared_context=False`` (lm-eval 0.4.13's ``HFLM.loglikelihood``: ``context + choice`` per choice,
full-vocabulary logits at every position). Sides are interleaved (A, B, A, B, ...) so both see the same
machine load; ratio = median over rounds of HFLM time / ours (target ≥ 2; above 1 means ours is faster),
for wall time and, as ``*_cpu_time``, for the process's CPU time (less sensitive to other jobs on a
shared machine). The largest |Δ loglik| between the two sides is printed as a check (tests: ≤ 1e-4).

Bound: the floating-point operations each side runs for the requests (counted once, untimed, with
``torch.utils.flop_counter.FlopCounterMode``: every matmul and attention product actually executed,
padding and the unembedding included), HFLM's over ours. Sharing the context removes work; it cannot make
the work left run faster, so a time ratio whose every round lies above the FLOP ratio fails.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))

import torch
from _timing import Ratio, report
from torch.utils.flop_counter import FlopCounterMode

from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model


def interleaved(a, b, rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]], tuple]:
    """Wall and CPU times of ``a()`` and ``b()`` run in turn ``rounds`` times, after one untimed round
    each (whose results are returned)."""
    warm = (a(), b())
    ta: dict[str, list[float]] = {"wall": [], "cpu": []}
    tb: dict[str, list[float]] = {"wall": [], "cpu": []}
    for _ in range(rounds):
        for fn, times in ((a, ta), (b, tb)):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times["wall"].append(time.perf_counter() - wall)
            times["cpu"].append(time.process_time() - cpu)
    return ta, tb, warm


def flops(fn) -> int:
    """Floating-point operations of one call of ``fn`` (matmuls and attention, as executed)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def run(name: str, model: torch.nn.Module, tok, task: str, n_docs: int, rounds: int, shots: int = 5) -> None:
    reqs = build_requests(task_config(task), shots, limit=n_docs)
    ours = Evaluator(model, tok, batch_size=8, shared_context=True)
    hflm = Evaluator(model, tok, batch_size=8, shared_context=False)
    ours.examples(reqs)  # tokenised once per (task, shot) and reused by every mask: not timed
    t_ours, t_hflm, (r_ours, r_hflm) = interleaved(
        lambda: ours.loglikelihoods(reqs), lambda: hflm.loglikelihoods(reqs), rounds
    )
    delta = max(abs(a[0] - b[0]) for a, b in zip(r_ours, r_hflm, strict=True))
    bound = flops(lambda: hflm.loglikelihoods(reqs)) / flops(lambda: ours.loglikelihoods(reqs))
    print(
        f"# {name}: {task} {shots}-shot, {reqs.n_docs} docs, {len(reqs.cloned())} requests, "
        f"{torch.get_num_threads()} thread(s), {rounds} interleaved rounds, max |Δ loglik| = {delta:.2e}",
        flush=True,
    )
    for clock in ("wall", "cpu"):
        ratio = Ratio.of(t_hflm[clock], t_ours[clock])
        what = (
            f"stock HFLM / shared context, {clock} time, {task} {shots}-shot, {reqs.n_docs} docs, "
            f"{torch.get_num_threads()} thread(s)" + (" (target >= 2)" if shots == 5 else " (no target)")
        )
        report(
            f"shared_context_vs_hflm_{name}" + ("" if clock == "wall" else "_cpu_time"),
            ratio,
            bound=bound,
            what=what + "; bound = FLOPs HFLM / ours",
            ours=statistics.median(t_ours[clock]),
            hflm=statistics.median(t_hflm[clock]),
        )


def main() -> None:
    # One thread by default: on a shared 2-core machine a second thread mostly waits at barriers for a
    # descheduled sibling, which swamps the compute being compared. ICLPRUNE_BENCH_THREADS overrides.
    torch.set_num_threads(int(os.environ.get("ICLPRUNE_BENCH_THREADS", "1")))
    opt, tok = load_model("tiny:opt", seed=0)
    run("tiny_opt", opt, tok, "icl_continuation", 20, rounds=5)
    smollm2, tok = load_model("embedded")
    run("smollm2", smollm2, tok, "icl_continuation", 20, rounds=3)
    # the embedded default's sweeps: 0/1-shot, short contexts, so less to share (reported, no target)
    run("smollm2_1shot", smollm2, tok, "icl_category", 16, rounds=5, shots=1)


if __name__ == "__main__":
    main()
