"""(c) FFN oracle sweep: residual-stream resume vs the naive sweep, on a bundled multiple-choice task.

Both sides compute the whole oracle (the full model and every FFN knock-out) of the same requests on the
same resident model and give the same table (checked first). Naive (`ffn_oracle(..., resume=False)`): one
full evaluation per knock-out through the Evaluator's default scorer (shared context). Resume (the
default): one clean pass per batch records the residual stream entering every layer, and each knock-out
runs only layers l..L-1 (`iclprune.evaluate.resume`). Ratio = naive / resume (a speed-up: above 1 means resume is
faster). Timed side by side (naive, resume, naive, ...), median ratio.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))

import pandas as pd
import torch
from _timing import report_ratio, side_by_side

from iclprune.analysis.pruning import ffn_oracle
from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model, tiny_model

TASK = "icl_antonyms"


def run(name: str, evaluator: Evaluator, shots: int, limit: int, rounds: int) -> None:
    reqs = build_requests(task_config(TASK), shots, limit=limit)
    fast, naive = ffn_oracle(evaluator, reqs), ffn_oracle(evaluator, reqs, resume=False)
    pd.testing.assert_frame_equal(fast[0], naive[0])
    times = side_by_side(
        {
            "naive": lambda: ffn_oracle(evaluator, reqs, resume=False),
            "resume": lambda: ffn_oracle(evaluator, reqs),
        },
        rounds=rounds,
        warmup=0,
    )
    report_ratio(
        f"ffn_oracle_resume_vs_naive_{name}",
        times,
        "naive",
        "resume",
        what=(
            f"naive FFN oracle sweep / residual-stream resume, {name}, {TASK} {shots}-shot, "
            f"{reqs.n_docs} docs, {len(fast[0])} knock-outs (target >= 1.7)"
        ),
    )


def main() -> None:
    torch.set_num_threads(2)
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
