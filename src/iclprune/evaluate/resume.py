"""Resume from a cached residual stream: the log-likelihoods of many masks from one clean pass per batch.

A mask whose first touched layer is ``l`` (an FFN knock-out at ``l``, or heads of layer ``l``) leaves
layers ``0..l−1`` exactly as in the full model. So, per batch of requests:

1. run the clean model once, recording with forward pre-hooks (``with_kwargs=True``) the residual stream
   entering every decoder layer, shape ``(B, T, d_model)``, and every other argument that layer received
   (attention mask, position ids, rotary position embeddings, ...): nothing of a model's internals is
   re-implemented, so this works for every family in :mod:`iclprune.model.sites`;
2. for each mask, start at its first layer from the recorded input, call the stock decoder layers
   ``l..L−1`` with the recorded arguments while :func:`iclprune.model.surgery.masked` hooks are active, then
   apply the final norm, OPT's optional ``project_out`` and the unembedding
   (:func:`iclprune.model.sites.resolve_output`) at the continuation positions only;
3. compute each request's ``(log-likelihood, is_greedy)`` as lm-eval's ``HFLM._loglikelihood_tokens``
   does: the input is ``(context + continuation)[-(max_length+1):][:-1]``, right-padded with token 0 and
   no attention mask; log-softmax over the whole vocabulary (in ``softmax_dtype``, but never below
   float32: lm-eval's default is the logits' dtype), the continuation's log-probabilities summed,
   ``is_greedy`` when every continuation token is its position's argmax.
   Requests with the same input row (same ``context + continuation[:-1]``) share one row, as lm-eval's
   one-token-continuation cache does.

For ``k`` masks that start at layers ``l_i`` this costs one full pass plus ``Σ (L − l_i)`` layer passes per
batch, instead of ``k`` full passes; an FFN oracle over all ``L`` layers costs about ``(L+3)/2`` full
passes instead of ``L+1``, and the unembedding runs on the continuation positions only.

Memory: the recorded residual stream is ``L × B × T × d_model`` values of the model's dtype per batch
(SmolLM2, B=8, T=300: 30·8·300·576 floats ≈ 166 MB), kept only while that batch is processed, plus the
per-layer arguments (shared tensors such as rotary tables are stored once).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from iclprune.core.components import Mask
from iclprune.evaluate.batching import Example, model_max_length, vocab_logprobs
from iclprune.model.sites import OutputSites, Sites, resolve, resolve_output
from iclprune.model.surgery import masked, variants_masked

Response = tuple[float, bool]  # (log-likelihood of the continuation, is_greedy), as lm-eval returns


def first_layer(mask: Mask, n_layers: int) -> int:
    """The first layer ``mask`` touches (``n_layers`` for the full model: nothing to re-run)."""
    layers = [layer for layer, _ in mask.heads] + list(mask.ffns)
    return min(layers, default=n_layers)


def _start(mask: Mask, n_layers: int, resume: bool) -> int:
    """The layer a mask's pass starts at: its first touched layer, or 0 without resume (the full model,
    touching nothing, always reads the clean pass's output)."""
    first = first_layer(mask, n_layers)
    return first if resume or first == n_layers else 0


def layer_forwards(masks: Sequence[Mask], n_layers: int, *, resume: bool = True) -> int:
    """Decoder-layer forwards per batch of :func:`masked_loglikelihoods` over ``masks``: the clean pass
    (``n_layers``) plus, per mask, the layers from where it starts. With every FFN knocked out once plus
    the full model, that is ``L + L(L+1)/2`` with resume against ``L(L+1)`` without: the bound of the
    resume speed-up before the unembedding (which both run, once per mask, at the same positions)."""
    return n_layers + sum(n_layers - _start(mask, n_layers, resume) for mask in masks)


@dataclass
class LayerInputs:
    """One clean pass over a batch: what entered every decoder layer and what left the last one.

    Attributes:
        hidden: per layer ``l``, the residual stream entering it, shape ``(B, T, d_model)``.
        args: per layer, the positional arguments after the hidden states.
        kwargs: per layer, the keyword arguments (attention mask, position ids/embeddings, ...).
        output: the last layer's output residual stream, shape ``(B, T, d_model)``.
    """

    hidden: list[torch.Tensor]
    args: list[tuple]
    kwargs: list[dict[str, Any]]
    output: torch.Tensor


def _hidden(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, tuple | list) else output


def _no_cache(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Refuse a recorded KV cache: re-running a layer would append to it and attend to stale keys."""
    for name, value in kwargs.items():
        if value is not None and type(value).__name__.endswith("Cache"):
            raise RuntimeError(
                f"decoder layer received a KV cache in {name!r}; the clean pass must run with use_cache=False"
            )
    return kwargs


def capture(model: nn.Module, sites: Sites, input_ids: torch.Tensor) -> LayerInputs:
    """Run the clean base model on ``input_ids`` ``(B, T)`` (no attention mask, no KV cache, as lm-eval's
    HFLM calls it) and record every decoder layer's inputs and the last layer's output."""
    n = sites.n_layers
    hidden: list[torch.Tensor | None] = [None] * n
    args: list[tuple] = [()] * n
    kwargs: list[dict[str, Any]] = [{}] * n
    out: list[torch.Tensor] = []

    def pre(index: int):
        def hook(module: nn.Module, a: tuple, kw: dict[str, Any]) -> None:
            kw = dict(kw)
            if a:
                hidden[index], args[index] = a[0], tuple(a[1:])
            else:
                hidden[index], args[index] = kw.pop("hidden_states"), ()
            kwargs[index] = _no_cache(kw)

        return hook

    def post(module: nn.Module, a: tuple, output: Any) -> None:
        out.append(_hidden(output))

    handles = [ls.layer.register_forward_pre_hook(pre(ls.index), with_kwargs=True) for ls in sites.layers]
    handles.append(sites.layers[-1].layer.register_forward_hook(post))
    try:
        model.base_model(input_ids=input_ids, use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    missing = [i for i, h in enumerate(hidden) if h is None]
    if missing or len(out) != 1:
        raise RuntimeError(f"decoder layers {missing or [n - 1]} were not called once by the base model")
    return LayerInputs(hidden, args, kwargs, out[0])  # type: ignore[arg-type]


def run_from(sites: Sites, start: int, inputs: LayerInputs) -> torch.Tensor:
    """Call decoder layers ``start..L−1`` (with whatever hooks are active) on the recorded input of layer
    ``start`` and the recorded arguments; returns the last layer's output ``(B, T, d_model)``."""
    if start >= sites.n_layers:
        return inputs.output
    h = inputs.hidden[start]
    for j in range(start, sites.n_layers):
        h = _hidden(sites.layers[j].layer(h, *inputs.args[j], **inputs.kwargs[j]))
    return h


def _tile(value: Any, batch: int, times: int) -> Any:
    """A recorded layer argument for ``times`` variant-major copies of a batch of ``batch`` rows: tensors
    of two or more dimensions whose first is ``batch`` are repeated along it (hidden states, positions,
    attention masks, rotary tables); tuples and lists element-wise; anything else as it is."""
    if isinstance(value, torch.Tensor):
        if value.dim() >= 2 and value.shape[0] == batch:
            return value.repeat(times, *[1] * (value.dim() - 1))
        return value
    if isinstance(value, tuple | list):
        return type(value)(_tile(v, batch, times) for v in value)
    return value


def run_tiled(sites: Sites, start: int, inputs: LayerInputs, times: int) -> torch.Tensor:
    """:func:`run_from` on ``times`` variant-major copies of the batch (for
    :func:`iclprune.model.surgery.variants_masked`): the last layer's output ``(times·B, T, d_model)``."""
    batch = inputs.hidden[start].shape[0]
    h = _tile(inputs.hidden[start], batch, times)
    for j in range(start, sites.n_layers):
        args, kwargs = _tile(inputs.args[j], batch, times), _tile(inputs.kwargs[j], batch, times)
        h = _hidden(sites.layers[j].layer(h, *args, **kwargs))
    return h


def _groups(starts: Sequence[int], mask_batch: int) -> list[list[int]]:
    """Mask indices grouped by start layer (first-seen order), each group cut into runs of ``mask_batch``."""
    by_start: dict[int, list[int]] = {}
    for i, start in enumerate(starts):
        by_start.setdefault(start, []).append(i)
    return [g[c : c + mask_batch] for g in by_start.values() for c in range(0, len(g), mask_batch)]


@dataclass(frozen=True)
class _Plan:
    """Unique input rows of a request list and where each request reads its log-probabilities."""

    rows: list[tuple[int, ...]]  # input tokens of each unique row
    need: list[int]  # continuation positions needed at the end of each row
    row_of: list[int]  # per request: its row
    conts: list[tuple[int, ...]]  # per request: its continuation tokens


def _plan(examples: Sequence[Example], max_length: int) -> _Plan:
    rows: list[tuple[int, ...]] = []
    need: list[int] = []
    index: dict[tuple[int, ...], int] = {}
    row_of, conts = [], []
    for ex in examples:
        if len(ex.continuation) > max_length:
            raise ValueError(
                f"continuation of {len(ex.continuation)} tokens exceeds the max_length={max_length} window"
            )
        inp = (ex.context + ex.continuation)[-(max_length + 1) :][:-1]
        r = index.setdefault(inp, len(rows))
        if r == len(rows):
            rows.append(inp)
            need.append(0)
        need[r] = max(need[r], len(ex.continuation))
        row_of.append(r)
        conts.append(ex.continuation)
    return _Plan(rows, need, row_of, conts)


class _Scorer:
    """Log-likelihood and greedy match of every request of one batch from the final residual stream."""

    def __init__(self, plan: _Plan, batch_rows: Sequence[int], requests: Sequence[int], device: torch.device):
        lengths = [len(plan.rows[r]) for r in batch_rows]
        self.T = max(lengths)
        ids = torch.zeros(len(batch_rows), self.T, dtype=torch.long)
        b_idx, t_idx, start = [], [], {}
        for b, (r, n) in enumerate(zip(batch_rows, lengths, strict=True)):
            ids[b, :n] = torch.tensor(plan.rows[r])
            start[r] = len(b_idx)
            m = plan.need[r]
            b_idx += [b] * m
            t_idx += range(n - m, n)
        q_pos, q_tok, q_req = [], [], []
        for i, q in enumerate(requests):
            r, cont = plan.row_of[q], plan.conts[q]
            first = start[r] + plan.need[r] - len(cont)
            q_pos += range(first, first + len(cont))
            q_tok += cont
            q_req += [i] * len(cont)
        self.input_ids = ids.to(device)
        self.b_idx = torch.tensor(b_idx, device=device)
        self.t_idx = torch.tensor(t_idx, device=device)
        self.q_pos = torch.tensor(q_pos, device=device)
        self.q_tok = torch.tensor(q_tok, device=device)
        self.q_req = torch.tensor(q_req, device=device)
        self.n = len(requests)

    def __call__(
        self, out: OutputSites, final: torch.Tensor, softmax_dtype: torch.dtype | None
    ) -> list[Response]:
        """``final``: the last layer's output ``(B, T, d_model)`` → one response per request."""
        at = final.device  # layers may sit on several devices (device_map): follow the tensors
        logits = out.logits(final[self.b_idx.to(at), self.t_idx.to(at)])  # (P, vocab)
        logprobs = vocab_logprobs(logits, softmax_dtype)  # at least float32, as the shared-context scorer
        at = logprobs.device
        q_pos, q_tok, q_req = self.q_pos.to(at), self.q_tok.to(at), self.q_req.to(at)
        picked = logprobs[q_pos, q_tok]
        sums = torch.zeros(self.n, dtype=picked.dtype, device=at).index_add_(0, q_req, picked)
        wrong = (logprobs.argmax(dim=-1)[q_pos] != q_tok).long()
        misses = torch.zeros(self.n, dtype=torch.long, device=at).index_add_(0, q_req, wrong)
        return [(float(s), not bool(m)) for s, m in zip(sums.tolist(), misses.tolist(), strict=True)]


def masked_loglikelihoods(
    model: nn.Module,
    examples: Sequence[Example],
    masks: Sequence[Mask],
    *,
    batch_size: int = 8,
    max_length: int | None = None,
    softmax_dtype: torch.dtype | None = None,
    autocast_dtype: torch.dtype | None = None,
    progress: bool = False,
    resume: bool = True,
    mask_batch: int = 1,
) -> list[list[Response]]:
    """lm-eval's ``(loglik, is_greedy)`` of every example under every mask, resuming each mask from the
    clean residual stream entering its first touched layer.

    Args:
        model: a causal LM with a site map; it is left as it was (hooks removed on exit).
        examples: token-level requests (context, continuation), e.g. from
            :func:`iclprune.evaluate.scoring.encode_instances` (tokenised as lm-eval's HFLM does).
        masks: the components to remove, one result list per mask (``Mask()`` = the full model).
        batch_size: input rows per clean pass (longest first, as lm-eval orders them).
        max_length: the context window lm-eval truncates to (``HFLM.max_length``; default: the
            model's ``max_position_embeddings``).
        softmax_dtype: lm-eval's ``softmax_dtype``, promoted to at least float32 (None: float32 for
            half-precision logits, lm-eval's default being their own dtype).
        autocast_dtype: lm-eval's ``mixed_precision_dtype`` (None: no autocast).
        resume: False runs every mask that removes something through all layers from the first (the
            reference that does the same work apart from the resume: same rows, same unembedding; the
            full model still reads the clean pass). The results are the same.
        mask_batch: masks that start at the same layer run up to this many at a time in one tiled forward
            (:func:`iclprune.model.surgery.variants_masked`): the same layer forwards, in fewer and bigger
            matmuls, equal to one mask at a time up to floating-point reassociation.

    Returns:
        ``result[i][j]``: the response of ``examples[j]`` under ``masks[i]``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}; expected a positive integer")
    if mask_batch < 1:
        raise ValueError(f"mask_batch={mask_batch}; expected a positive integer")
    sites = resolve(model)
    out_sites = resolve_output(model)
    for mask in masks:
        mask.check(sites.n_layers, sites.n_heads)
    plan = _plan(examples, max_length or model_max_length(model))
    by_row: list[list[int]] = [[] for _ in plan.rows]
    for q, r in enumerate(plan.row_of):
        by_row[r].append(q)
    order = sorted(range(len(plan.rows)), key=lambda r: (-len(plan.rows[r]), plan.rows[r]))
    device = next(model.parameters()).device
    results: list[list[Response | None]] = [[None] * len(examples) for _ in masks]
    starts = [_start(mask, sites.n_layers, resume) for mask in masks]
    batches = range(0, len(order), batch_size)
    with torch.no_grad(), _autocast(device, autocast_dtype):
        for b0 in tqdm(batches, desc="resume", disable=not progress, unit="batch"):
            batch_rows = order[b0 : b0 + batch_size]
            requests = [q for r in batch_rows for q in by_row[r]]
            scorer = _Scorer(plan, batch_rows, requests, device)
            inputs = capture(model, sites, scorer.input_ids)
            rows = scorer.input_ids.shape[0]
            for group in _groups(starts, mask_batch):
                start = starts[group[0]]
                if len(group) == 1 or start >= sites.n_layers:
                    finals = []
                    for i in group:
                        with masked(model, masks[i]):
                            finals.append(run_from(sites, start, inputs))
                else:
                    with variants_masked(model, [masks[i] for i in group]):
                        finals = list(run_tiled(sites, start, inputs, len(group)).split(rows))
                for i, final in zip(group, finals, strict=True):
                    for q, resp in zip(requests, scorer(out_sites, final, softmax_dtype), strict=True):
                        if not math.isfinite(resp[0]):
                            raise FloatingPointError(
                                f"non-finite log-likelihood {resp[0]} of request {q} (context of "
                                f"{len(examples[q].context)} tokens) with {masks[i].components() or 'nothing'} "
                                "removed; expected a finite number (check the model's dtype and weights)"
                            )
                        results[i][q] = resp
            del inputs
    return results  # type: ignore[return-value]


@contextlib.contextmanager
def _autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None):
        yield
