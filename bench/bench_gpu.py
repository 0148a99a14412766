"""(g) GPU: evaluation and importance passes on OPT-66B-shaped layers: tokens/s and fraction of peak bf16.

A few random decoder layers of OPT-66B's shape (d_model 9216, 72 heads of 128, FFN 36864, vocabulary
50272; ``--layers``, default 4) in bfloat16 on one GPU, through the study's own code paths:

* evaluation: :func:`iclprune.evaluate.scoring.loglikelihoods` (shared context) on synthetic multiple-choice
  requests (``--docs`` documents, a ``--context``-token prompt, 4 choices of 8 tokens) under a mask
  removing 70% of the heads and 20% of the FFNs (hooks, :func:`iclprune.model.surgery.masked`);
* importance: :func:`iclprune.analysis.importance.head_importance` (one forward + backward, parameters frozen) on
  the gold (prompt, choice) of each document.

Tokens/s counts every token fed to the model. The fraction of peak divides a matmul FLOP count (the
decoder's projections, attention scores and values, and the vocabulary projection where logits are
taken; backward of frozen weights = one more forward's worth, for the activations' gradients) by the
device's dense bf16 peak (``--peak-tflops``, or the table below by device name). Without a CUDA device it
prints one ``#`` line and exits 0; ``--cpu-smoke`` runs a 2-layer miniature on the CPU to check the
script itself (its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(__file__))

import torch
from transformers import OPTConfig, OPTForCausalLM

from iclprune.analysis.importance import head_importance
from iclprune.core.components import Mask
from iclprune.evaluate.batching import Example
from iclprune.evaluate.scoring import loglikelihoods
from iclprune.model.surgery import masked

# dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendors' data sheets
PEAK_BF16_TFLOPS = {"H200": 989.4, "H100 SXM": 989.4, "H100 80GB HBM3": 989.4, "H100 PCIe": 756.0,
                    "H100 NVL": 835.0, "A100": 312.0, "L40S": 362.1, "A10": 125.0}  # fmt: skip
OPT_66B = {"hidden_size": 9216, "num_attention_heads": 72, "ffn_dim": 36864, "vocab_size": 50272}
SMOKE = {"hidden_size": 256, "num_attention_heads": 4, "ffn_dim": 1024, "vocab_size": 512}
N_CHOICES, CHOICE_LEN = 4, 8


def peak_tflops(name: str) -> float | None:
    """Dense bf16 peak of a device named ``name`` (e.g. ``"NVIDIA H200"``), or None when unknown."""
    for key, value in sorted(PEAK_BF16_TFLOPS.items(), key=lambda kv: -len(kv[0])):
        if all(part in name for part in key.split()):
            return value
    return None


def build(shape: dict[str, int], layers: int, device: str, dtype: torch.dtype) -> OPTForCausalLM:
    """A random OPT of ``shape`` with ``layers`` decoder layers, created directly on ``device``."""
    config = OPTConfig(
        **shape, num_hidden_layers=layers, word_embed_proj_dim=shape["hidden_size"],
        max_position_embeddings=2048, do_layer_norm_before=True, enable_bias=True,
    )  # fmt: skip
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = OPTForCausalLM(config)
    finally:
        torch.set_default_dtype(default)
    return model.eval()


def requests(n_docs: int, context: int, vocab: int, seed: int = 0) -> list[Example]:
    """``n_docs`` multiple-choice documents: one random ``context``-token prompt, 4 random choices each."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_docs):
        ctx = tuple(torch.randint(4, vocab, (context,), generator=g).tolist())
        for _ in range(N_CHOICES):
            out.append(Example(ctx, tuple(torch.randint(4, vocab, (CHOICE_LEN,), generator=g).tolist())))
    return out


def forward_flops(
    d: int, f: int, vocab: int, layers: int, tokens: int, attended: float, logits: int
) -> float:
    """Matmul FLOPs of a forward over ``tokens`` tokens attending to ``attended`` positions on average,
    with vocabulary logits at ``logits`` positions."""
    per_token_layer = 2 * (4 * d * d + 2 * d * f) + 4 * d * attended
    return layers * tokens * per_token_layer + 2 * d * vocab * logits


def timed(fn, rounds: int, sync) -> float:
    """Median seconds of ``fn()`` over ``rounds`` runs after one warm-up."""
    fn()
    sync()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--docs", type=int, default=16, help="multiple-choice documents per pass")
    ap.add_argument("--context", type=int, default=480, help="prompt tokens (a 5-shot prompt's length)")
    ap.add_argument(
        "--batch-size", type=int, default=16, help="contexts (evaluation) / examples (importance)"
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's dense bf16 peak")
    ap.add_argument(
        "--cpu-smoke", action="store_true", help="a 2-layer miniature on the CPU (checks the script)"
    )
    args = ap.parse_args(argv)
    if args.cpu_smoke:
        shape, device, dtype, layers = SMOKE, "cpu", torch.float32, 2
        docs, context, peak, sync = 2, 16, args.peak_tflops or 1.0, lambda: None
        name, kind = "cpu (smoke test)", "miniature OPT layers"
    elif torch.cuda.is_available():
        shape, device, dtype, layers = OPT_66B, "cuda", torch.bfloat16, args.layers
        docs, context, sync = args.docs, args.context, torch.cuda.synchronize
        name, kind = torch.cuda.get_device_name(), "OPT-66B-shaped layers"
        peak = args.peak_tflops or peak_tflops(name)
    else:
        print("# bench_gpu: no CUDA device; skipped (--cpu-smoke checks the script on the CPU)", flush=True)
        return 0
    torch.manual_seed(0)
    model = build(shape, layers, device, dtype)
    d, f, vocab, n_heads = (
        shape["hidden_size"],
        shape["ffn_dim"],
        shape["vocab_size"],
        shape["num_attention_heads"],
    )
    examples = requests(docs, context, vocab)
    gold = examples[::N_CHOICES]
    mask = Mask(
        frozenset((layer, h) for layer in range(layers) for h in range(int(0.7 * n_heads))),
        frozenset(range(int(0.2 * layers))),
    )

    def evaluate() -> None:
        with masked(model, mask):
            loglikelihoods(model, examples, batch_size=args.batch_size, check=False)

    def importance() -> None:
        head_importance(model, gold, batch_size=args.batch_size)

    # evaluation: the contexts once (logits at the last position), then 4 choices × 7 tokens from the cache
    eval_tokens = docs * context + docs * N_CHOICES * (CHOICE_LEN - 1)
    eval_flops = forward_flops(d, f, vocab, layers, docs * context, context / 2, docs) + forward_flops(
        d, f, vocab, layers, docs * N_CHOICES * (CHOICE_LEN - 1), context + CHOICE_LEN / 2,
        docs * N_CHOICES * (CHOICE_LEN - 1),
    )  # fmt: skip
    # importance: prompt + gold choice, logits everywhere, backward ≈ one more forward (frozen weights)
    imp_tokens = docs * (context + CHOICE_LEN)
    imp_flops = 2 * forward_flops(d, f, vocab, layers, imp_tokens, (context + CHOICE_LEN) / 2, imp_tokens)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"# bench_gpu: {name}, {kind} x {layers} ({n_params / 1e9:.2f}B parameters, {dtype}), "
        f"{docs} docs x {context}-token prompts x {N_CHOICES} choices, batch {args.batch_size}, "
        f"peak {peak} TFLOP/s",
        flush=True,
    )
    for label, fn, tokens, flops in (
        ("evaluation", evaluate, eval_tokens, eval_flops),
        ("importance", importance, imp_tokens, imp_flops),
    ):
        seconds = timed(fn, args.rounds, sync)
        what = f"{label} pass, {name}, {kind} x {layers}, {dtype}"
        print(f"gpu_{label}_tokens_per_s: {tokens / seconds:.1f} tok/s  # {what}", flush=True)
        if peak:
            print(
                f"gpu_{label}_peak_fraction: {flops / seconds / (peak * 1e12):.3f}  # {what}, of dense bf16 peak"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
