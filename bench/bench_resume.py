"""(c) FFN oracle: residual-stream resume vs one full pass per knock-out, the same work otherwise.

Both sides score the same requests under the same masks (the full model and every FFN knocked out once)
on the same resident model through one function, ``iclprune.evaluate.resume.masked_loglikelihoods``: the
same input rows, batches, hooks and unembedding (at the continuation positions only), and the same results
(checked first). The only difference is where a knock-out starts: at its own layer, from the recorded
clean residual stream (``resume=True``, what the FFN oracle runs), or at layer 0 (``resume=False``). Ratio
= without / with resume (above 1: resume is faster), timed side by side.

Bound: per batch, the clean pass runs L layers and each knock-out at layer l runs L − l with resume, L
without: ``L(L+1) / (L + L(L+1)/2)`` layer forwards (1.64 for 8 layers, 1.88 for 30). Both sides
unembed once per mask, so the time ratio lies below the layer ratio; a measured range above it fails.

Earlier versions of this bench (the 2.83x and 2.58x recorded on 2026-11-23) compared resume with
``ffn_oracle(..., resume=False)``: one lm-eval evaluation per knock-out through the Evaluator's
shared-context scorer. The two sides then did different work beside the resume (other input rows,
a prefix and a suffix pass per batch, other batching), so the ratio measured the scorers as much
as the resume (docs/performance.md).
"""

from __future__ import annotations

import os
import sys

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


def run(name: str, evaluator: Evaluator, shots: int, limit: int, rounds: int) -> None:
    reqs = build_requests(task_config(TASK), shots, limit=limit)
    examples = evaluator.examples(reqs)  # tokenised once, as the oracle does: not timed
    n_layers = resolve(evaluator.model).n_layers
    masks = [Mask(), *(Mask(ffns=frozenset({layer})) for layer in range(n_layers))]

    def oracle(resume: bool) -> list:
        return masked_loglikelihoods(
            evaluator.model, examples, masks, batch_size=evaluator.batch_size, resume=resume
        )

    assert oracle(True) == oracle(False)  # the same responses (same rows, same operations per layer)
    bound = layer_forwards(masks, n_layers, resume=False) / layer_forwards(masks, n_layers, resume=True)
    times = side_by_side({"without": lambda: oracle(False), "resume": lambda: oracle(True)}, rounds=rounds)
    report_ratio(
        f"ffn_oracle_resume_vs_naive_{name}",
        times,
        "without",
        "resume",
        bound=bound,
        what=(
            f"FFN oracle, one full pass per knock-out / residual-stream resume (same rows and unembedding), "
            f"{name}, {TASK} {shots}-shot, {reqs.n_docs} docs, {n_layers} knock-outs; bound = layer "
            "forwards without / with resume"
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
    run("tiny_opt", Evaluator(opt, tok, batch_size=8), shots=5, limit=8, rounds=5)
    smollm2, tok = load_model("embedded")
    run("smollm2", Evaluator(smollm2, tok, batch_size=8), shots=1, limit=4, rounds=3)


if __name__ == "__main__":
    main()
