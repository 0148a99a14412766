"""The model download: pinned revision, checksum manifest, verification, the Snakemake rule.

The hub is never contacted: a local directory stands in for the hub cache, laid out exactly as
huggingface_hub lays it out (``hub/models--org--name/{blobs,refs,snapshots/<commit>}``, blobs named by
their hash, snapshot entries linking to them), filled from a tiny random OPT's ``save_pretrained``. With
``HF_HUB_OFFLINE=1`` (set in conftest before any import) the download code path finds the snapshot there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iclprune.model.download import (
    ChecksumError,
    DownloadError,
    download,
    download_model,
    hub_repo_id,
    manifest_path,
    verify_snapshot,
)
from iclprune.model.models import tiny_model

REPO = "example-org/tiny-opt"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def hub_cache(root: Path, repo: str = REPO, commit: str = COMMIT, *, weights: bool = True) -> Path:
    """A real hub-cache layout for a tiny random OPT; returns the snapshot folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    saved = root / "saved"
    tiny_model("opt", seed=5).save_pretrained(saved)
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(saved / "tokenizer.json"))
    (saved / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"}))
    (saved / "pytorch_model.bin").write_bytes(b"legacy weights the download must not keep")
    folder = root / "hub" / ("models--" + repo.replace("/", "--"))
    snapshot = folder / "snapshots" / commit
    (folder / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for src in sorted(saved.iterdir()):
        if src.suffix == ".safetensors" and not weights:
            continue
        data = src.read_bytes()
        # LFS files are stored under their SHA-256, the others under their git blob SHA-1
        blob = (
            hashlib.sha256(data).hexdigest()
            if src.suffix in (".safetensors", ".bin")
            else _git_blob_sha1(data)
        )
        (folder / "blobs" / blob).write_bytes(data)
        (snapshot / src.name).symlink_to(Path("../../blobs") / blob)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return hub_cache(tmp_path)


def _blob(snapshot: Path, name: str) -> Path:
    return Path(os.path.realpath(snapshot / name))


def test_offline_download_returns_the_snapshot_and_writes_a_manifest(cache: Path, tmp_path: Path) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    out = tmp_path / "results" / "manifest.json"
    manifest = download(REPO, COMMIT, cache_dir=tmp_path / "hub", out=out)
    assert Path(manifest["snapshot"]) == cache
    assert (manifest["repo_id"], manifest["revision"], manifest["commit"]) == (REPO, COMMIT, COMMIT)
    paths = [f["path"] for f in manifest["files"]]
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(paths)
    assert "pytorch_model.bin" not in paths  # only safetensors/json/tokenizer files are kept
    for entry in manifest["files"]:
        data = (cache / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size"] == len(data)
    assert manifest["total_bytes"] == sum(f["size"] for f in manifest["files"])
    beside = manifest_path(cache)
    assert beside == cache.parent.parent / "iclprune" / f"{COMMIT}.manifest.json"
    assert json.loads(beside.read_text()) == json.loads(out.read_text()) == manifest
    assert not list(beside.parent.glob(".*.tmp"))  # written atomically, nothing left behind
    assert verify_snapshot(out) == manifest
    # a second run finds the same bytes and agrees with the manifest already there
    assert download(REPO, COMMIT, cache_dir=tmp_path / "hub") == manifest
    # the hub cache scanner still accepts the cache (the manifest is not inside snapshots/)
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(tmp_path / "hub")
    assert not info.warnings
    assert [r.repo_id for r in info.repos] == [REPO]


def test_one_corrupted_byte_is_a_checksum_mismatch_naming_the_file(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "manifest.json"
    download(REPO, COMMIT, cache_dir=tmp_path / "hub", out=out)
    blob = _blob(cache, "model.safetensors")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    with pytest.raises(
        ChecksumError, match=r"checksum mismatch .*model\.safetensors: sha256 [0-9a-f]{64}, expected"
    ):
        verify_snapshot(out)
    # downloading again does not paper over it: the blob no longer matches the hash it is named by
    with pytest.raises(ChecksumError, match=r"corrupted download .*model\.safetensors: content hash"):
        download(REPO, COMMIT, cache_dir=tmp_path / "hub")


def test_a_missing_file_or_changed_bytes_since_the_manifest_are_named(cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "manifest.json"
    manifest = download(REPO, COMMIT, cache_dir=tmp_path / "hub", out=out)
    # bytes that differ from an earlier manifest beside the snapshot (here: the earlier manifest edited)
    beside = manifest_path(cache)
    edited = json.loads(beside.read_text())
    entry = next(f for f in edited["files"] if f["path"] == "config.json")
    entry["sha256"] = "0" * 64
    beside.write_text(json.dumps(edited))
    with pytest.raises(ChecksumError, match=r"changed since its manifest .*config\.json: sha256"):
        download(REPO, COMMIT, cache_dir=tmp_path / "hub")
    (cache / "tokenizer.json").unlink()
    with pytest.raises(ChecksumError, match=r"tokenizer\.json: missing from"):
        verify_snapshot(manifest)
    with pytest.raises(ChecksumError, match="does not exist"):
        verify_snapshot(manifest, tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("revision", "message"),
    [
        (None, r"model 'example-org/tiny-opt' has no pinned revision; expected `revision: <40-hex commit>`"),
        ("", "has no pinned revision"),
        ("main", r"revision 'main' is not a commit; expected a 40-hex commit hash"),
        ("0123456", "is not a commit"),
    ],
)
def test_a_missing_or_moving_revision_is_an_error(
    cache: Path, tmp_path: Path, revision, message: str
) -> None:
    with pytest.raises(DownloadError, match=message):
        download(REPO, revision, cache_dir=tmp_path / "hub")
    assert not manifest_path(cache).exists()


def test_a_branch_is_resolved_through_refs_when_commits_are_not_required(cache: Path, tmp_path: Path) -> None:
    manifest = download(REPO, "main", cache_dir=tmp_path / "hub", require_commit=False)
    assert (manifest["revision"], manifest["commit"]) == ("main", COMMIT)


def test_not_cached_or_incomplete_while_offline_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        DownloadError, match=r"'example-org/other' at revision [0-9a-f]{40} is not in the hub cache"
    ):
        download("example-org/other", COMMIT, cache_dir=tmp_path / "hub")
    hub_cache(tmp_path, weights=False)
    with pytest.raises(DownloadError, match=r"is incomplete in the hub cache .*HF_HUB_OFFLINE=1 forbids"):
        download(REPO, COMMIT, cache_dir=tmp_path / "hub")


@pytest.mark.parametrize(
    "source",
    ["facebook/opt-66b", "gpt2", "EleutherAI/pythia-70m", "embedded", "embedded:smollm2-135m-instruct",
     "tiny:opt", "./model", "/abs/model", "~/m", "tests", "a b", "org/name/extra"],
)  # fmt: skip
def test_hub_sources_agree_with_the_model_loader(source: str) -> None:
    from iclprune.model.models import ModelRef, _looks_like_path

    ref = ModelRef.parse(source)
    loads_from_hub = ref.kind == "pretrained" and not _looks_like_path(ref.name)
    assert (hub_repo_id({"source": source}) is not None) == loads_from_hub


def test_hub_sources_and_the_stage_entry_point(cache: Path, tmp_path: Path, monkeypatch) -> None:
    assert hub_repo_id({"source": "facebook/opt-66b"}) == "facebook/opt-66b"
    assert hub_repo_id("EleutherAI/pythia-70m") == "EleutherAI/pythia-70m"
    for source in ("embedded", "tiny:opt", str(tmp_path)):
        assert hub_repo_id({"source": source}) is None
    with pytest.raises(DownloadError, match=r"model 'local' .* is not a hub id"):
        download_model({"source": str(tmp_path)}, tmp_path / "m.json", name="local")
    with pytest.raises(DownloadError, match=r"model 'opt' .*has no pinned revision"):
        download_model({"source": REPO}, tmp_path / "m.json", name="opt")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    manifest = download_model({"source": REPO, "revision": COMMIT}, tmp_path / "m.json", name="opt")
    assert json.loads((tmp_path / "m.json").read_text()) == manifest


@pytest.mark.slow
def test_the_download_rule_feeds_the_model_card_through_snakemake(root: Path, tmp_path: Path) -> None:
    """download_model → model (card) on a hub-sourced tiny OPT, offline, through the real workflow."""
    hub_cache(tmp_path)
    text = (root / "config/tiny.yaml").read_text()
    config = tmp_path / "hub.yaml"
    config.write_text(text.replace('source: "tiny:llama"', f'source: {REPO}\n    revision: "{COMMIT}"'))
    env = dict(os.environ, HF_HOME=str(tmp_path), HF_HUB_OFFLINE="1", ICLPRUNE_TASKS=str(root / "tasks"),
               ICLPRUNE_RESOURCES=str(root / "resources"))  # fmt: skip
    env.pop("HF_HUB_CACHE", None)
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    cmd = [snakemake, "--snakefile", str(root / "Snakefile"), "--directory", str(tmp_path / "work"),
           "--configfile", str(config), "--cores", "1", "results/tiny/models/tiny-llama/card.json"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    work = tmp_path / "work"
    logs = "".join(p.read_text() for p in (work / "logs").rglob("*.log")) if (work / "logs").exists() else ""
    assert done.returncode == 0, done.stderr[-3000:] + logs[-3000:]
    manifest = json.loads((work / "results/tiny/models/tiny-llama/manifest.json").read_text())
    assert manifest["commit"] == COMMIT
    assert manifest_path(Path(manifest["snapshot"])).is_file()
    card = json.loads((work / "results/tiny/models/tiny-llama/card.json").read_text())
    assert (card["family"], card["n_layers"], card["n_heads"]) == ("opt", 3, 4)
    # the same config without a revision stops in the download rule with the model named
    config.write_text(text.replace('source: "tiny:llama"', f"source: {REPO}"))
    bad = subprocess.run([*cmd[:4], str(tmp_path / "work2"), *cmd[5:]], env=env, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert bad.returncode != 0
    assert (tmp_path / "work2/logs/tiny/models/tiny-llama.download.log").is_file(), (
        bad.stdout[-3000:] + bad.stderr[-3000:]
    )
    log = (tmp_path / "work2/logs/tiny/models/tiny-llama.download.log").read_text()
    assert "model 'tiny-llama' (source 'example-org/tiny-opt')" in log
    assert "has no pinned revision" in log


def test_download_and_verify_commands(cache: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from iclprune.workflow.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # restored after the test (the command sets it)
    out = tmp_path / "manifest.json"
    hub = str(tmp_path / "hub")
    assert (
        main(["download", REPO, "--revision", COMMIT, "--cache-dir", hub, "--out", str(out), "--offline"])
        == 0
    )
    assert f"{REPO}@{COMMIT}:" in capsys.readouterr().out
    assert main(["verify-model", str(out)]) == 0
    assert "files verified" in capsys.readouterr().out
    assert main(["download", REPO, "--cache-dir", hub, "--offline"]) == 2
    assert f"model '{REPO}' has no pinned revision" in capsys.readouterr().err
    _blob(cache, "config.json").write_text("{}")
    assert main(["verify-model", str(out)]) == 2
    assert "config.json: " in capsys.readouterr().err


def test_a_checkpoint_without_a_pinned_commit_names_the_branch_to_pin(
    cache: Path, tmp_path: Path, monkeypatch
) -> None:
    """A training checkpoint (`step`) must pin the commit of its step's branch: main holds the final model."""
    from iclprune.model.download import checkpoint_branch

    pythia = {"source": "EleutherAI/pythia-1.4b", "dtype": "float16", "step": 1000}
    for revision in (None, "", "step1000"):
        with pytest.raises(DownloadError) as err:
            download_model({**pythia, "revision": revision}, tmp_path / "m.json", name="pythia-1.4b-step1000")
        text = str(err.value)
        for part in (
            "model 'pythia-1.4b-step1000' (source 'EleutherAI/pythia-1.4b')",
            "training step 1000",
            "pin the 40-hex commit of branch step1000 of EleutherAI/pythia-1.4b",
            "huggingface_hub.HfApi().list_repo_refs('EleutherAI/pythia-1.4b')",
        ):
            assert part in text, (revision, text)
        assert ("has no pinned revision" in text) == (not revision)
        assert ("'step1000', which is not a commit" in text) == (revision == "step1000")
    assert not (tmp_path / "m.json").exists()
    assert checkpoint_branch("EleutherAI/pythia-70m-deduped", 143000) == "step143000"
    # another repository: no known branch scheme, still the step and where to look
    with pytest.raises(
        DownloadError, match=r"branch or tag that holds training step 5 of example-org/tiny-opt"
    ):
        download_model({"source": REPO, "step": 5}, tmp_path / "m.json", name="ckpt")
    with pytest.raises(DownloadError, match=r"step -1 of model 'example-org/tiny-opt'.*integer >= 0"):
        download_model({"source": REPO, "step": -1}, tmp_path / "m.json", name="ckpt")
    # pinned: downloaded like any other model (the step only changes the messages)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    manifest = download_model(
        {"source": REPO, "revision": COMMIT, "step": 5}, tmp_path / "m.json", name="ckpt"
    )
    assert manifest["commit"] == COMMIT
