"""(d) Physically pruned model vs the masked dense model: forward on the same tokens.

70% of the heads and 20% of the FFNs are removed by rankings from random scores (the speed of a pruned
model does not depend on which components go). The masked side is the dense model under
`iclprune.model.surgery.masked` hooks (how every evaluation of the study runs); the pruned side is
`iclprune.model.surgery.prune`'s smaller model (heads sliced out of q/k/v/o, KV heads dropped when their whole
group goes, FFNs dropped). Logits are checked equal first (1e-9, in float64). Ratio = masked / pruned (a speed-up:
above 1 means the pruned model is faster). Timed side by side (masked, pruned, masked, ...), median ratio.
"""

from __future__ import annotations

import copy
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np
import torch
from _timing import report_ratio, side_by_side

from iclprune.analysis.pruning import ffn_ranking, head_ranking, pruning_mask
from iclprune.core.components import Mask
from iclprune.model.models import load_model, tiny_model
from iclprune.model.sites import resolve
from iclprune.model.surgery import masked, n_parameters, prune


def check_same_function(model: torch.nn.Module, mask: Mask, ids: torch.Tensor) -> None:
    """Pruned and masked logits agree to 1e-9 in float64 (in float32 they differ by GEMM rounding only,
    up to ~1e-4 of the logits' scale on SmolLM2's 30 layers, because the matrices have other shapes)."""
    wide = copy.deepcopy(model).double()
    small = prune(wide, mask)
    with torch.no_grad():
        with masked(wide, mask):
            want = wide(ids, use_cache=False).logits
        got = small(ids, use_cache=False).logits
    torch.testing.assert_close(got, want, atol=1e-9, rtol=0)


def run(name: str, model: torch.nn.Module, batch: int, length: int, rounds: int) -> None:
    sites = resolve(model)
    rng = np.random.default_rng(0)
    heads = head_ranking(rng.random(sites.shape))
    ffns = ffn_ranking(rng.random(sites.n_layers))
    mask = pruning_mask(heads, 70, ffns, 20)
    small = prune(model, mask)
    vocab = model.config.get_text_config().vocab_size
    ids = torch.from_numpy(rng.integers(3, vocab, size=(batch, length)))

    def dense() -> torch.Tensor:
        with torch.no_grad(), masked(model, mask):
            return model(ids, use_cache=False).logits

    def pruned() -> torch.Tensor:
        with torch.no_grad():
            return small(ids, use_cache=False).logits

    check_same_function(model, mask, ids[:2, :32])
    times = side_by_side({"masked": dense, "pruned": pruned}, rounds=rounds)
    report_ratio(
        f"pruned_vs_masked_{name}",
        times,
        "masked",
        "pruned",
        what=(
            f"masked dense / physically pruned forward (70% heads, 20% FFNs removed), {name}, "
            f"{batch}x{length} tokens; parameters {n_parameters(small) / n_parameters(model):.2f} of dense"
        ),
    )


def main() -> None:
    torch.set_num_threads(2)
    opt = tiny_model(
        "opt",
        seed=0,
        vocab_size=2048,
        num_hidden_layers=4,
        hidden_size=128,
        word_embed_proj_dim=128,
        ffn_dim=512,
        num_attention_heads=8,
    )
    run("tiny_opt", opt, 8, 128, rounds=9)
    smollm2, _ = load_model("embedded")
    run("smollm2", smollm2, 4, 256, rounds=5)


if __name__ == "__main__":
    main()
