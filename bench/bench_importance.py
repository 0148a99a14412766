"""(a) Gradient head importance vs a plain forward+backward on the same tokens.

Both sides run the same batch and the same loss (Σ of each example's mean continuation NLL). The plain
side is what one would otherwise write: `loss.backward()` with the weights requiring grad. Ours hooks
every layer's out-projection with per-(example, position, head) gates, freezes every weight and asks
autograd for the gate gradients only. Ratio = ours / plain (target ≤ 1.15; below 1 means cheaper).
"""

from __future__ import annotations

import os
import random
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))

import torch
from _timing import report_ratio, side_by_side

from iclprune.analysis.importance import head_importance
from iclprune.evaluate.batching import Example, batch_loss, collate
from iclprune.model.models import load_model, tiny_model


def examples(n: int, ctx: int, vocab: int, seed: int = 0) -> list[Example]:
    rng = random.Random(seed)
    return [
        Example(
            tuple(rng.randrange(3, vocab) for _ in range(ctx)),
            tuple(rng.randrange(3, vocab) for _ in range(3)),
        )
        for _ in range(n)
    ]


def plain(model: torch.nn.Module, exs: list[Example]) -> None:
    model.zero_grad(set_to_none=True)
    batch = collate(exs, "right", 0, torch.device("cpu"))
    batch_loss(model, batch).backward()


def run(name: str, model: torch.nn.Module, exs: list[Example], rounds: int) -> None:
    for p in model.parameters():
        p.requires_grad_(True)
    times = side_by_side(
        {
            "plain": lambda: plain(model, exs),
            "ours": lambda: head_importance(model, exs, batch_size=len(exs)),
        },
        rounds=rounds,
    )
    report_ratio(
        f"importance_vs_forward_backward_{name}",
        times,
        "ours",
        "plain",
        what=f"head importance (both variants) / plain forward+backward, {name}, same tokens (target <= 1.15)",
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
    )
    run("tiny_opt", opt, examples(8, 120, 2048), rounds=7)
    smollm2, _ = load_model("embedded")
    run("smollm2", smollm2, examples(4, 250, 49152), rounds=5)


if __name__ == "__main__":
    main()
