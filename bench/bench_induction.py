"""(b) Copying score: vectorised vs the naive per-head, per-position loop of Algorithm 2.

Both sides score the same tiny random Llama (GQA) on the same seeds through the same direct-path inputs
and return the same numbers (checked here to 1e-5). The naive side places each head's vectors in its
slot of a zero out-projection input, applies out-proj and unembedding modules, takes a full softmax and
loops over query positions in Python, as the original code does; ours precomputes one
``(heads, d_head, vocab)`` map per layer, takes a chunked logsumexp, and reduces a ``(heads, T, T)``
matrix with tensor ops. Ratio = naive / vectorised (a speed-up: above 1 means ours is faster).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np
import torch
from _timing import report_ratio, side_by_side

from iclprune.analysis.copying import copying_scores, copying_scores_naive
from iclprune.model.models import tiny_model


def main() -> None:
    # one thread: on a shared machine, OpenMP workers waiting on busy cores dominate these small ops
    torch.set_num_threads(1)
    model = tiny_model("llama", seed=0, vocab_size=2048, attn_implementation="eager")
    pool = np.arange(3, 2048)
    seeds = [0, 5, 10]  # L = 25, 35, 45: sequences of 101, 141, 181 tokens

    def fast() -> tuple[np.ndarray, np.ndarray]:
        return copying_scores(model, pool, seeds, bos_id=1, progress=False)

    def naive() -> tuple[np.ndarray, np.ndarray]:
        return copying_scores_naive(model, pool, seeds, bos_id=1)

    np.testing.assert_allclose(fast()[0], naive()[0], atol=1e-5, rtol=0)
    times = side_by_side({"naive": naive, "vectorised": fast}, rounds=3)
    report_ratio("induction_copying_vectorised_vs_naive", times, "naive", "vectorised")


if __name__ == "__main__":
    main()
