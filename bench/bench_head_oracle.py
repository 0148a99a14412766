"""Head oracle: residual-stream resume, one mask or four per forward, vs one full pass per knock-out.

Every side scores the same requests under the same masks (the full model and every attention head knocked
out alone, as ``head_oracle(..., resume=True)`` builds them) on the same resident model through one
function, ``iclprune.evaluate.resume.masked_loglikelihoods``: the same input rows, batches, hooks and
unembedding (at the continuation positions only). Three sides, timed side by side in one set of rounds:

- ``full``: every knock-out runs all layers from layer 0 (``resume=False, mask_batch=1``), one full forward
  per knock-out: the reference the issue asks to beat by 2x;
- ``resume``: every knock-out starts at its own layer from the recorded clean residual stream, one mask at a
  time (``resume=True, mask_batch=1``);
- ``resume_tiled``: what the head oracle runs by default (``resume=True`` and the config's
  ``evaluation.mask_batch: 4``): the knock-outs starting at the same layer go four at a time through one
  tiled forward (``iclprune.model.surgery.variants_masked``).

Ratios = ``full`` / ``resume`` and ``full`` / ``resume_tiled`` (above 1: resume is faster). Before a ratio
is reported, the results of the timed calls are checked: equal up to float reassociation (tiling changes
the matmul shapes), so the largest |Δ loglik| against ``full`` must be below 1e-4 and every ``is_greedy``
equal. SmolLM2's full side takes about half a minute a round on one CPU thread, so it runs 2 documents,
2 rounds and no separate warm-up round (a call of 30 s has no start-up cost worth the name).

Bound (``resume`` only): per batch, the clean pass runs L layers, a knock-out at layer l runs L − l with
resume and L without, and the full model reads the clean pass: ``L(L·H+1) / (L + H·L(L+1)/2)`` layer
forwards (``layer_forwards``; 1.74 for the tiny OPT's 8 layers × 4 heads, 1.93 for SmolLM2's 30 × 9).
Below 2 for any L and H, so a 2x speed-up over one full pass per knock-out needs the tiling, whose
fewer and bigger forwards save per-forward fixed costs that no layer count sees: it has no analytic bound.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))

import torch
from _timing import report_ratio, side_by_side

from iclprune.core.components import Mask
from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.resume import layer_forwards, masked_loglikelihoods
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model, tiny_model
from iclprune.model.sites import resolve

TASK = "icl_antonyms"
TOLERANCE = 1e-4  # largest |Δ loglik| between the sides (tiling reassociates float sums)
SIDES = {"full": (False, 1), "resume": (True, 1), "resume_tiled": (True, 4)}  # name: (resume, mask_batch)


def run(name: str, evaluator: Evaluator, shots: int, limit: int, rounds: int, warmup: int) -> None:
    reqs = build_requests(task_config(TASK), shots, limit=limit)
    examples = evaluator.examples(reqs)  # tokenised once, as the oracle does: not timed
    n_layers, n_heads = resolve(evaluator.model).shape
    masks = [
        Mask(),
        *(Mask(heads=frozenset({(layer, h)})) for layer in range(n_layers) for h in range(n_heads)),
    ]

    def oracle(resume: bool, mask_batch: int) -> list:
        return masked_loglikelihoods(
            evaluator.model,
            examples,
            masks,
            batch_size=evaluator.batch_size,
            max_length=evaluator.lm.max_length,
            resume=resume,
            mask_batch=mask_batch,
        )

    bound = layer_forwards(masks, n_layers, resume=False) / layer_forwards(masks, n_layers, resume=True)
    results: dict[str, list] = {}

    def keep(side: str, resume: bool, mask_batch: int) -> Callable[[], None]:
        def fn() -> None:
            results[side] = oracle(resume, mask_batch)

        return fn

    # The check reads the results of the timed calls (the last round's): an untimed check pass would cost
    # SmolLM2 another round of the full side, the bulk of the script's time.
    times = side_by_side({s: keep(s, *args) for s, args in SIDES.items()}, rounds=rounds, warmup=warmup)
    for side in ("resume", "resume_tiled"):
        pairs = [
            (a, b)
            for r, g in zip(results["full"], results[side], strict=True)
            for a, b in zip(r, g, strict=True)
        ]
        delta = max(abs(a[0] - b[0]) for a, b in pairs)
        greedy = all(a[1] == b[1] for a, b in pairs)
        assert delta < TOLERANCE, f"{name} {side}: max |Δ loglik| vs full {delta:.2e} ≥ {TOLERANCE}"
        assert greedy, f"{name} {side}: is_greedy differs from full"
        print(f"# {name} {side} vs full: max |Δ loglik| = {delta:.2e}, is_greedy equal", flush=True)
    setting = (
        f"{name} ({n_layers} layers x {n_heads} heads), {TASK} {shots}-shot, {reqs.n_docs} docs, "
        f"{len(masks) - 1} knock-outs, {torch.get_num_threads()} thread(s)"
    )
    report_ratio(
        f"head_oracle_resume_vs_full_{name}",
        times,
        "full",
        "resume",
        bound=bound,
        what=(
            f"head oracle, one full pass per knock-out / residual-stream resume, one mask per forward "
            f"(same rows and unembedding), {setting}; bound = layer forwards without / with resume"
        ),
    )
    report_ratio(
        f"head_oracle_resume_tiled_vs_full_{name}",
        times,
        "full",
        "resume_tiled",
        what=(
            f"head oracle, one full pass per knock-out / residual-stream resume with mask_batch 4 (the "
            f"oracle's default), {setting} (target >= 2); no bound (tiling)"
        ),
    )


def main() -> None:
    torch.set_num_threads(int(os.environ.get("ICLPRUNE_BENCH_THREADS", "1")))  # see bench_scoring.py
    _, tok = load_model("tiny:opt")  # SmolLM2's tokenizer
    opt = tiny_model(
        "opt",
        seed=0,
        vocab_size=len(tok),
        num_hidden_layers=8,
        hidden_size=128,
        word_embed_proj_dim=128,
        ffn_dim=512,
        pad_token_id=tok.pad_token_id or 0,
    )
    run("tiny_opt", Evaluator(opt, tok, batch_size=8), shots=5, limit=8, rounds=5, warmup=1)
    smollm2, tok = load_model("embedded")
    run("smollm2", Evaluator(smollm2, tok, batch_size=8), shots=1, limit=2, rounds=2, warmup=0)


if __name__ == "__main__":
    main()
