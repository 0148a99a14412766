"""Log-likelihood scoring of (context, continuation) requests, with the context shared across choices.

A multiple-choice document asks for the log-likelihood of every choice after the same k-shot context;
lm-eval's stock ``HFLM`` runs ``context + choice`` once per choice. :func:`loglikelihoods` runs each
distinct context once and scores every continuation from its cached keys/values:

1. **Context pass.** The distinct contexts of a batch, right-padded into one ``(G, Tc)`` batch (no
   attention mask: right padding cannot reach a real token through a causal mask), with
   ``use_cache=True`` and ``logits_to_keep`` set to the contexts' last positions: those ``(G, V)``
   logits score every continuation's first token (so one-token choices need nothing more).
2. **Continuation pass** (only for continuations of ≥ 2 tokens). The cache is expanded along the batch
   to one row per continuation (``Cache.batch_select_indices`` with repeated indices); each row is
   ``continuation[:-1]``, right-padded to ``(R, Ts)``, with ``position_ids`` continuing after its own
   context and an ``(R, Tc + Ts)`` attention mask that hides the context padding. Every real position
   of this pass predicts the next continuation token.

Numbers equal HFLM's up to floating-point reassociation (|Δ| < 1e-4 in fp32; tested on Llama with GQA,
OPT and GPT-NeoX, under head/FFN masks). Requests are tokenised by :func:`encode_instances` exactly as
HFLM does (its ``_encode_pair``, empty-context rule and left truncation to ``max_length``).

A batch that runs out of memory is retried at half the batch size (down to 1); a non-finite
log-likelihood raises :class:`NonFiniteScoreError` naming the request and the first layer whose output
was non-finite.
"""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from iclprune.evaluate.batching import Example, vocab_logprobs

T = TypeVar("T")

log = logging.getLogger(__name__)


class NonFiniteScoreError(FloatingPointError):
    """A log-likelihood or importance score came out NaN or infinite."""


class ScoringOutOfMemoryError(RuntimeError):
    """A batch of a single request still did not fit in memory."""


# ----------------------------------------------------------------------------------------------- encoding
def encode_request(lm: Any, context: str, continuation: str) -> Example:
    """One request tokenised exactly as ``HFLM.loglikelihood`` + ``_loglikelihood_tokens`` see it.

    An empty context becomes the model's prefix token (BOS/EOS), as in lm-eval's ``loglikelihood``;
    otherwise lm-eval's own ``_encode_pair`` splits the pair. ``context + continuation`` longer than
    ``lm.max_length + 1`` tokens loses context tokens from the left, as HFLM's input window
    ``(context + continuation)[-(max_length + 1):][:-1]`` does; the continuation is always kept whole.
    """
    if context == "":
        cont = lm.tok_encode(continuation, add_special_tokens=False)
        if not cont:
            raise ValueError(f"continuation {continuation!r} encodes to no tokens")
        ctx, cont = ([lm.prefix_token_id], cont) if lm.prefix_token_id != cont[0] else (cont[:1], cont[1:])
    else:
        ctx, cont = lm._encode_pair(context, continuation)
    if not cont:
        raise ValueError(
            f"continuation {continuation!r} after context {context[-40:]!r} encodes to no tokens"
        )
    max_length = int(lm.max_length)
    if len(cont) > max_length:
        raise ValueError(
            f"continuation of {len(cont)} tokens exceeds the model's max_length={max_length} tokens"
        )
    whole = list(ctx) + list(cont)
    window = whole[-(max_length + 1) :]
    return Example(tuple(window[: -len(cont)]), tuple(cont))


def encode_instances(reqs_or_instances: Any, lm: Any) -> list[Example]:
    """Token ids of every loglikelihood request, in the order lm-eval scores them.

    Args:
        reqs_or_instances: an :class:`iclprune.evaluate.evaluation.TaskRequests` or a sequence of lm-eval
            ``Instance`` objects; an instance with ``repeats = n`` gives ``n`` consecutive examples
            (as ``Evaluator.loglikelihoods`` clones them).
        lm: lm-eval's ``HFLM`` (its tokenizer, ``_encode_pair``, ``prefix_token_id``, ``max_length``).

    Returns:
        One :class:`~iclprune.evaluate.batching.Example` per request; its context is already truncated the way
        HFLM truncates, so scoring it needs no further truncation.
    """
    instances = getattr(reqs_or_instances, "instances", reqs_or_instances)
    out: list[Example] = []
    for inst in instances:
        if getattr(inst, "request_type", "loglikelihood") != "loglikelihood":
            raise ValueError(
                f"request of type {inst.request_type!r}; expected 'loglikelihood' requests "
                "(multiple_choice or loglikelihood tasks)"
            )
        context, continuation = inst.args
        ex = encode_request(lm, context, continuation)
        out += [ex] * int(getattr(inst, "repeats", 1) or 1)
    return out


# ------------------------------------------------------------------------------------------------ errors
def is_oom(err: BaseException) -> bool:
    """True for torch's out-of-memory errors (any device) and RuntimeErrors that say so."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def free_memory() -> None:
    """Drop what Python and the accelerator's caching allocator can release after an OOM."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def retry_halving(
    run: Callable[[int], T], size: int, *, what: str, at_one: Callable[[], str]
) -> tuple[T, int]:
    """``run(size)``, retried at half the size after each out-of-memory error (:func:`is_oom`), down to 1.

    Returns ``run``'s result and the size that worked; other errors propagate at once. Out of memory at
    size 1 raises :class:`ScoringOutOfMemoryError` with the message ``at_one()``. ``what`` names the
    computation in the warning logged at each halving.
    """
    while True:
        try:
            return run(size), size
        except Exception as err:
            if not is_oom(err):
                raise
            del err  # drop the traceback's frames (and their tensors) before freeing memory
            free_memory()
            if size == 1:
                raise ScoringOutOfMemoryError(at_one()) from None
            log.warning("out of memory at batch size %d (%s); retrying at %d", size, what, size // 2)
            size //= 2


def _layer_output(output: Any) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple | list) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    return None


def first_nonfinite_layer(model: nn.Module, example: Example) -> int | None:
    """The first decoder layer whose output holds a NaN/Inf on ``example`` (under whatever hooks are
    active), or None when every layer's output is finite. One extra forward, for error messages."""
    from iclprune.model.sites import resolve

    sites = resolve(model)
    bad: list[int] = []

    def make(index: int) -> Callable:
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            h = _layer_output(output)
            if h is not None and not bool(torch.isfinite(h).all()):
                bad.append(index)

        return hook

    handles = [ls.layer.register_forward_hook(make(ls.index)) for ls in sites.layers]
    device = model.get_input_embeddings().weight.device
    try:
        with torch.no_grad():
            ids = torch.tensor([example.context + example.continuation[:-1]], device=device)
            model(input_ids=ids, use_cache=False, logits_to_keep=1)
    finally:
        for handle in handles:
            handle.remove()
    return min(bad) if bad else None


def nonfinite_layers(model: nn.Module, examples: Sequence[Example]) -> str:
    """Where the non-finite values of ``examples`` start, in words: the first decoder layer with a
    NaN/Inf output on the first example that has one (one extra forward per example tried)."""
    for k, ex in enumerate(examples):
        layer = first_nonfinite_layer(model, ex)
        if layer is not None:
            of = f" (example {k} of the {len(examples)} in the batch)" if len(examples) > 1 else ""
            return f"the first non-finite layer output is layer {layer}{of}"
    return "every layer's output is finite, so the logits or their softmax overflowed"


def check_finite(
    model: nn.Module,
    results: Sequence[tuple[float, bool]],
    examples: Sequence[Example] | None,
    describe: Callable[[int], str] = lambda i: f"request {i}",
) -> None:
    """Raise :class:`NonFiniteScoreError` at the first non-finite log-likelihood of ``results``.

    ``describe(i)`` names request ``i`` (e.g. its task, shot, mask and document); with ``examples``, the
    message also names the first layer whose output was non-finite on that request.
    """
    for i, (ll, _) in enumerate(results):
        if not math.isfinite(ll):
            where = f"; {nonfinite_layers(model, [examples[i]])}" if examples is not None else ""
            raise NonFiniteScoreError(f"non-finite log-likelihood {ll} for {describe(i)}{where}")


# ---------------------------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class _Row:
    index: int  # position of the request in the caller's list
    group: int  # index of its distinct context
    continuation: tuple[int, ...]


def _plan(examples: Sequence[Example], shared_context: bool) -> tuple[list[tuple[int, ...]], list[_Row]]:
    """Distinct contexts (longest first) and one row per request, ordered so that the rows of a
    context are consecutive. Without sharing, every request is its own group."""
    contexts: list[tuple[int, ...]] = []
    index: dict[tuple[int, ...], int] = {}
    rows: list[_Row] = []
    for i, ex in enumerate(examples):
        if shared_context:
            g = index.setdefault(ex.context, len(contexts))
            if g == len(contexts):
                contexts.append(ex.context)
        else:
            g = len(contexts)
            contexts.append(ex.context)
        rows.append(_Row(i, g, ex.continuation))
    cont_len = [0] * len(contexts)
    for r in rows:
        cont_len[r.group] = max(cont_len[r.group], len(r.continuation))
    order = sorted(range(len(contexts)), key=lambda g: (-(len(contexts[g]) + cont_len[g]), g))
    rank = {g: k for k, g in enumerate(order)}
    rows.sort(key=lambda r: (rank[r.group], r.index))
    return contexts, rows


def _batch_end(rows: Sequence[_Row], start: int, n_contexts: int | None, n_rows: int | None) -> int:
    """End of the batch of ``rows`` beginning at ``start``: the next ``n_contexts`` contexts with all of
    their rows (rows of a context are consecutive, see :func:`_plan`), and at most ``n_rows`` rows: cut
    at the last context boundary that fits, or inside the first context when even it does not fit."""
    end, seen = start, 0
    while end < len(rows) and (n_contexts is None or seen < n_contexts):
        group_end = end
        while group_end < len(rows) and rows[group_end].group == rows[end].group:
            group_end += 1
        if n_rows is not None and group_end - start > n_rows:
            return end if end > start else start + n_rows
        end, seen = group_end, seen + 1
    return end


def _score_rows(
    model: nn.Module,
    contexts: Sequence[tuple[int, ...]],
    rows: Sequence[_Row],
    pad_id: int,
    variants: int = 1,
) -> list[list[tuple[float, bool]]]:
    """``(Σ log p(continuation), is_greedy)`` of ``rows``, per mask variant: one context pass, one
    continuation pass.

    Context pass: the ``G`` distinct contexts of the rows, right-padded to ``(G, Tc)`` and tiled
    ``variants`` times, variant-major, to ``(K·G, Tc)`` (the caller's hooks, e.g.
    :func:`iclprune.model.surgery.variants_masked`, give each block its mask); the logits of each context's last
    position (``(K·G, V)``) score every row's first continuation token, and the keys/values are cached.
    Continuation pass (only when some continuation has ≥ 2 tokens): the cache is expanded to one row per
    such continuation and variant, and ``continuation[:-1]`` is fed as ``(K·R, Ts)`` with positions
    continuing after its context and a ``(K·R, Tc + Ts)`` mask hiding the context padding. Returns
    ``K`` lists of ``len(rows)`` results.
    """
    device = model.get_input_embeddings().weight.device  # inputs go here; logits may come back elsewhere
    K = variants
    groups: list[int] = []
    for r in rows:
        if not groups or groups[-1] != r.group:
            groups.append(r.group)
    G = len(groups)
    slot = {g: k for k, g in enumerate(groups)}
    ctx_len = [len(contexts[g]) for g in groups]  # (G,)
    Tc = max(ctx_len)
    long_rows = [b for b, r in enumerate(rows) if len(r.continuation) > 1]
    ids = torch.full((G, Tc), pad_id, dtype=torch.long)
    for k, g in enumerate(groups):
        ids[k, : ctx_len[k]] = torch.tensor(contexts[g])
    last = sorted(set(ctx_len))  # positions whose logits are needed: each context's last token
    keep = torch.tensor([n - 1 for n in last], device=device)
    out = model(
        input_ids=ids.repeat(K, 1).to(device),
        position_ids=torch.arange(Tc, device=device).expand(K * G, Tc),
        use_cache=bool(long_rows),
        logits_to_keep=keep,
    )
    out_dev = out.logits.device
    col = torch.tensor([last.index(n) for n in ctx_len], device=out_dev).repeat(K)
    first = vocab_logprobs(out.logits[torch.arange(K * G, device=out_dev), col])  # (K·G, V)
    past = out.past_key_values if long_rows else None
    del out
    offsets = torch.arange(K).repeat_interleave(len(rows)) * G  # (K·R_all,): each row's variant block
    row_slot = torch.tensor([slot[r.group] for r in rows]).repeat(K) + offsets  # (K·R_all,), on the CPU
    first_tok = torch.tensor([r.continuation[0] for r in rows], device=out_dev).repeat(K)
    sums = first[row_slot.to(out_dev), first_tok].double()  # (K·R_all,)
    greedy = first.argmax(dim=-1)[row_slot.to(out_dev)] == first_tok  # (K·R_all,)
    if long_rows:
        sub = [rows[b] for b in long_rows]
        R, Ts = len(sub), max(len(r.continuation) - 1 for r in sub)
        inp = torch.full((R, Ts), pad_id, dtype=torch.long)
        targets = torch.zeros((R, Ts), dtype=torch.long)
        valid = torch.zeros((R, Ts), dtype=torch.bool)
        pos = torch.zeros((R, Ts), dtype=torch.long)
        attn = torch.zeros((R, Tc + Ts), dtype=torch.long)
        for b, r in enumerate(sub):
            n, c = len(r.continuation) - 1, len(contexts[r.group])
            inp[b, :n] = torch.tensor(r.continuation[:-1])
            targets[b, :n] = torch.tensor(r.continuation[1:])
            valid[b, :n] = True
            pos[b] = torch.arange(c, c + Ts)
            attn[b, :c] = 1
            attn[b, Tc : Tc + n] = 1
        sel = torch.tensor([slot[r.group] for r in sub]).repeat(K) + torch.arange(K).repeat_interleave(R) * G
        if K * G != K * R or bool((sel != torch.arange(K * R)).any()):
            past.batch_select_indices(sel)  # (K·G, ...) → (K·R, ...): CPU indices, cache on any device(s)
        logits = model(
            input_ids=inp.repeat(K, 1).to(device),
            position_ids=pos.repeat(K, 1).to(device),
            attention_mask=attn.repeat(K, 1).to(device),
            past_key_values=past,
            use_cache=True,
        ).logits  # (K·R, Ts, V)
        del past
        logprobs = vocab_logprobs(logits)
        targets, valid = targets.repeat(K, 1).to(logits.device), valid.repeat(K, 1).to(logits.device)
        picked = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (K·R, Ts)
        idx = (torch.tensor(long_rows).repeat(K) + torch.arange(K).repeat_interleave(R) * len(rows)).to(
            sums.device
        )
        sums[idx] += (picked.double() * valid).sum(dim=-1)
        greedy[idx] &= ((logprobs.argmax(dim=-1) == targets) | ~valid).all(dim=-1)
    pairs = list(zip(sums.tolist(), greedy.tolist(), strict=True))
    return [pairs[k * len(rows) : (k + 1) * len(rows)] for k in range(K)]


def loglikelihoods(
    model: nn.Module,
    examples: Sequence[Example],
    *,
    batch_size: int = 8,
    shared_context: bool = True,
    pad_token_id: int = 0,
    check: bool = True,
    describe: Callable[[int], str] | None = None,
) -> list[tuple[float, bool]]:
    """``(Σ log p(continuation | context), is_greedy)`` of every example, in order, under no grad.

    Args:
        model: a causal LM (Llama/Mistral/Qwen2 incl. GQA, OPT, GPT-NeoX, ...), hooks and all.
        examples: token-id pairs, e.g. from :func:`encode_instances` (already truncated: no truncation
            happens here; a context + continuation beyond the model's positions is the caller's error).
        batch_size: distinct contexts per batch, each with all of its continuations (the context pass
            runs ``batch_size`` rows, the continuation pass one row per continuation; without sharing,
            requests per batch, as HFLM's ``batch_size``). On out-of-memory the batch's rows are halved
            and retried (splitting a context's continuations if need be), down to 1 row.
        shared_context: run each distinct context once and score its continuations from the cache
            (default); ``False`` runs every request as one full row, as HFLM does.
        pad_token_id: id written into padding (never attended to, never scored).
        check: raise :class:`NonFiniteScoreError` on a NaN/Inf log-likelihood.
        describe: ``describe(i)`` names request ``i`` in that error (default ``"request i"``).

    ``is_greedy`` is True when every continuation token is the argmax of its predicting position, as
    in lm-eval. Log-probabilities are taken in at least float32.
    """
    final = variant_loglikelihoods(
        model, examples, 1, batch_size=batch_size, shared_context=shared_context, pad_token_id=pad_token_id
    )[0]
    if check:
        check_finite(model, final, list(examples), describe or (lambda i: f"request {i}"))
    return final


def variant_loglikelihoods(
    model: nn.Module,
    examples: Sequence[Example],
    variants: int,
    *,
    batch_size: int = 8,
    shared_context: bool = True,
    pad_token_id: int = 0,
) -> list[list[tuple[float, bool]]]:
    """:func:`loglikelihoods` of ``examples`` under ``variants`` mask variants in the same forwards.

    Every batch is tiled ``variants`` times, variant-major (see :func:`_score_rows`), for hooks such as
    :func:`iclprune.model.surgery.variants_masked` that give each block of rows its own mask; a forward thus
    holds ``variants × batch_size`` contexts. Out of memory halves the rows per variant down to 1, then
    raises :class:`ScoringOutOfMemoryError` (the caller may split the variants). Returns one list per
    variant, in order; no finiteness check (with variant hooks on, a single-row forward cannot run).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}; expected a positive integer")
    if variants < 1:
        raise ValueError(f"variants={variants}; expected a positive integer")
    examples = [e if isinstance(e, Example) else Example(*e) for e in examples]
    if not examples:
        return [[] for _ in range(variants)]
    contexts, rows = _plan(examples, shared_context)
    cap: int | None = None  # rows per batch after an out-of-memory error
    results: list[list[tuple[float, bool] | None]] = [[None] * len(examples) for _ in range(variants)]
    start = 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            while start < len(rows):
                # a batch is batch_size contexts with all their continuations; after an out-of-memory
                # error, at most the number of rows that then fitted (a context's rows may be split)
                n = _batch_end(rows, start, batch_size, cap) - start
                scored, size = retry_halving(
                    lambda k, s0=start: _score_rows(
                        model, contexts, rows[s0 : _batch_end(rows, s0, None, k)], pad_token_id, variants
                    ),
                    n,
                    what="scoring" if variants == 1 else f"scoring {variants} mask variants per forward",
                    at_one=lambda r=rows[start]: (
                        f"out of memory scoring request {r.index} even at batch size 1"
                        + (f" with {variants} mask variants per forward" if variants > 1 else "")
                        + f" (context of {len(contexts[r.group])} tokens); use "
                        + (
                            "fewer mask variants per forward (evaluation.mask_batch), "
                            if variants > 1
                            else ""
                        )
                        + "a smaller model, fewer shots, a shorter max_length or a bigger device"
                    ),
                )
                cap = size if size < n else cap
                chunk = rows[start : _batch_end(rows, start, None, size)]
                for k in range(variants):
                    for r, res in zip(chunk, scored[k], strict=True):
                        results[k][r.index] = res
                start += len(chunk)
    finally:
        model.train(was_training)
    final = [[r for r in per if r is not None] for per in results]
    if any(len(per) != len(examples) for per in final):
        raise RuntimeError("internal error: some requests were never scored")
    return final
