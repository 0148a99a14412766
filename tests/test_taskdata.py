"""Registry tasks' documents: a pinned hub snapshot or local files, checked against the task's templates,
with a SHA-256 manifest (iclprune.evaluate.taskdata) and the ``fetch-data`` / ``verify-data`` commands.

The hub is never contacted. A local directory stands in for the hub cache, laid out exactly as
huggingface_hub lays it out (``hub/datasets--aps--super_glue/{blobs,refs,snapshots/<commit>}``, blobs
named by their hash, snapshot entries linking to them), with the real repositories' card (a YAML
``configs`` section) and file names (``<config>/<split>-00000-of-00001.parquet``), filled from the first
rows of the real benchmark copies in ``../shared/data`` (read in place, never written). With
``HF_HUB_OFFLINE=1`` (conftest) the real fetch code finds the snapshot there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pytest
import yaml

from iclprune.evaluate.taskdata import (
    DataSource,
    DataSourceError,
    load_manifest,
    prepare,
    read_data_spec,
    source_from_entry,
    task_config_for,
    task_sources,
    verify_data,
    with_source,
)
from iclprune.model.download import ChecksumError

SUPER_GLUE = "aps/super_glue"
GLUE = "nyu-mll/glue"
COMMIT = "3de24cf8022e94a6fc3e2b1fbe5ebbd1ee4c5f6b"
GLUE_COMMIT = "bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c"
ROWS = 20  # rows of each split in the stand-in (the real copies have up to 4848)
#: dataset config → the shared data folder it is filled from
SUPER_GLUE_CONFIGS = {"boolq": "boolq", "cb": "cb", "copa": "copa", "wsc.fixed": "wsc"}
GLUE_CONFIGS = {"rte": "rte"}


# ------------------------------------------------------------------------------------- the hub stand-in
def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _parquet(jsonl: Path, rows: int = ROWS) -> bytes:
    """The first ``rows`` rows of a jsonl file as parquet bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = []
    with jsonl.open() as fh:
        for line in fh:
            records.append(json.loads(line))
            if len(records) == rows:
                break
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records), sink)
    return sink.getvalue().to_pybytes()


def hub_dataset(
    hub: Path, repo: str, commit: str, configs: dict[str, str], data: Path, *, card_only: tuple[str, ...] = ()
) -> Path:
    """A hub-cache layout of dataset ``repo`` at ``commit``: a card whose ``configs`` name each of
    ``configs`` (and of ``card_only``, whose files are not in the cache), and per config one parquet
    file per split of the shared folder it maps to. Returns the snapshot folder."""
    folder = hub / ("datasets--" + repo.replace("/", "--"))
    snapshot = folder / "snapshots" / commit
    files: dict[str, bytes] = {}
    card: list[dict] = []
    for config, source in configs.items():
        entries = []
        for jsonl in sorted((data / source).glob("*.jsonl")):
            files[f"{config}/{jsonl.stem}-00000-of-00001.parquet"] = _parquet(jsonl)
            entries.append({"split": jsonl.stem, "path": f"{config}/{jsonl.stem}-*"})
        card.append({"config_name": config, "data_files": entries})
    card += [
        {"config_name": c, "data_files": [{"split": "train", "path": f"{c}/train-*"}]} for c in card_only
    ]
    front = yaml.safe_dump({"license": "other", "configs": card}, sort_keys=False)
    files["README.md"] = f"---\n{front}---\n\n# {repo} (test stand-in)\n".encode()
    (folder / "blobs").mkdir(parents=True)
    for rel, content in files.items():
        # LFS files are stored under their SHA-256, the others under their git blob SHA-1
        blob = hashlib.sha256(content).hexdigest() if rel.endswith(".parquet") else _git_blob_sha1(content)
        (folder / "blobs" / blob).write_bytes(content)
        entry = snapshot / rel
        entry.parent.mkdir(parents=True, exist_ok=True)
        entry.symlink_to(os.path.relpath(folder / "blobs" / blob, entry.parent))
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture(autouse=True)
def datasets_cache(tmp_path: Path, monkeypatch) -> Path:
    """datasets' Arrow cache in the test's folder (datasets reads its cache paths once, at import)."""
    import datasets.config

    cache = tmp_path / "datasets-cache"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", cache / "downloads")
    monkeypatch.setattr(datasets.config, "EXTRACTED_DATASETS_PATH", cache / "downloads" / "extracted")
    return cache


@pytest.fixture
def hub(tmp_path: Path, shared_data: Path) -> Path:
    """The hub cache stand-in: aps/super_glue (boolq, cb, copa, wsc.fixed; multirc only in the card)
    and nyu-mll/glue (rte)."""
    root = tmp_path / "hub"
    hub_dataset(root, SUPER_GLUE, COMMIT, SUPER_GLUE_CONFIGS, shared_data, card_only=("multirc",))
    hub_dataset(root, GLUE, GLUE_COMMIT, GLUE_CONFIGS, shared_data)
    return root


def _snapshot(hub: Path, repo: str = SUPER_GLUE, commit: str = COMMIT) -> Path:
    return hub / ("datasets--" + repo.replace("/", "--")) / "snapshots" / commit


def _hub_source(task: str, name: str | None = None, revision: str | None = COMMIT, **kw) -> DataSource:
    return DataSource(task, repo=kw.pop("repo", SUPER_GLUE), name=name or task, revision=revision, **kw)


def _parquet_files(config: str, *splits: str) -> list[str]:
    return [f"{config}/{s}-00000-of-00001.parquet" for s in splits]


def _rows(path: Path, n: int | None = None) -> list[dict]:
    with path.open() as fh:
        return [json.loads(line) for i, line in enumerate(fh) if n is None or i < n]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    return message


# ------------------------------------------------------------------------------------------- hub sources
def test_prepare_snapshots_the_configs_files_and_writes_their_manifest(
    hub: Path, tmp_path: Path, datasets_cache: Path
) -> None:
    source = _hub_source("boolq")
    out = tmp_path / "results" / "data" / "boolq" / "hub.json"
    manifest = prepare(source, out, cache_dir=hub)
    snapshot = _snapshot(hub)
    assert Path(manifest["snapshot"]) == snapshot
    # exactly the config's files: not the card, not another config's files
    files = _parquet_files("boolq", "train", "validation")
    assert [f["path"] for f in manifest["files"]] == files == manifest["allow_patterns"]
    for entry in manifest["files"]:
        data = (snapshot / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() == entry["blob"]
        assert entry["size"] == len(data)
    assert manifest["n_files"] == 2
    assert manifest["total_bytes"] == sum(f["size"] for f in manifest["files"])
    assert manifest["splits"] == {"train": files[:1], "validation": files[1:]}
    assert manifest["documents"] == {"train": ROWS, "validation": ROWS}
    assert (manifest["task"], manifest["builder"], manifest["data_format"]) == (
        "boolq",
        "parquet",
        "iclprune-data/1",
    )
    assert manifest["source"] == source.to_dict()
    assert DataSource.from_dict(manifest["source"]) == source
    beside = hub / "datasets--aps--super_glue" / "iclprune" / f"{COMMIT}.boolq.manifest.json"
    assert json.loads(beside.read_text()) == json.loads(out.read_text()) == manifest
    # a second prepare finds the same bytes and agrees with the manifest beside the snapshot
    assert prepare(source, tmp_path / "again.json", cache_dir=hub) == manifest
    assert verify_data(out) == manifest
    assert load_manifest(out, "boolq") == manifest
    with pytest.raises(DataSourceError, match=r"is for task 'boolq'; expected 'cb'"):
        load_manifest(out, "cb")
    # datasets' Arrow cache went to the test's folder, and the hub cache scanner still accepts the cache
    assert any(datasets_cache.glob("parquet/*"))
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(hub)
    assert not info.warnings
    assert sorted(r.repo_id for r in info.repos) == [SUPER_GLUE, GLUE]


def test_a_flipped_byte_a_changed_manifest_or_a_deleted_file_is_named(hub: Path, tmp_path: Path) -> None:
    out = tmp_path / "cb.json"
    manifest = prepare(_hub_source("cb"), out, cache_dir=hub)
    test, train, validation = _parquet_files("cb", "test", "train", "validation")
    assert [f["path"] for f in manifest["files"]] == [test, train, validation]
    snapshot = _snapshot(hub)
    # the manifest beside the snapshot disagrees with the bytes (an earlier fetch saw other bytes)
    beside = hub / "datasets--aps--super_glue" / "iclprune" / f"{COMMIT}.cb.manifest.json"
    edited = json.loads(beside.read_text())
    next(f for f in edited["files"] if f["path"] == train)["sha256"] = "0" * 64
    beside.write_text(json.dumps(edited))
    with pytest.raises(ChecksumError, match=rf"{train}: sha256 [0-9a-f]{{64}}, expected 0{{64}}"):
        prepare(_hub_source("cb"), tmp_path / "again.json", cache_dir=hub)
    assert not (tmp_path / "again.json").exists()
    beside.write_text(json.dumps(manifest))
    # one flipped byte in a blob
    blob = Path(os.path.realpath(snapshot / validation))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    with pytest.raises(
        ChecksumError, match=rf"checksum mismatch .*{validation}: sha256 [0-9a-f]{{64}}, expected"
    ):
        verify_data(out)
    with pytest.raises(ChecksumError, match=rf"{validation}: sha256"):
        task_config_for("cb", out)  # a job re-hashes before it reads
    # fetching again does not paper over it: the blob no longer matches the hash it is named by
    with pytest.raises(ChecksumError, match=rf"corrupted download .*{validation}: content hash"):
        prepare(_hub_source("cb"), tmp_path / "again.json", cache_dir=hub)
    (snapshot / train).unlink()
    with pytest.raises(ChecksumError, match=rf"{train}: missing from .*{validation}: sha256") as err:
        verify_data(out)
    assert "cb/test-" not in str(err.value)  # the unchanged file is not named
    with pytest.raises(DataSourceError, match="is not a data manifest; expected data_format"):
        verify_data({**manifest, "data_format": None})


@pytest.mark.parametrize(
    ("task", "repo", "config", "commit"),
    [
        ("boolq", SUPER_GLUE, "boolq", COMMIT),
        ("wsc", SUPER_GLUE, "wsc.fixed", COMMIT),
        ("rte", GLUE, "rte", GLUE_COMMIT),
    ],
)
def test_the_task_config_reads_only_the_snapshot_files(
    hub: Path, tmp_path: Path, shared_data: Path, task: str, repo: str, config: str, commit: str
) -> None:
    from lm_eval.api.task import ConfigurableTask

    from iclprune.evaluate.taskdefs import task_config

    out = tmp_path / f"{task}.json"
    manifest = prepare(_hub_source(task, config, commit, repo=repo), out, cache_dir=hub)
    snapshot = _snapshot(hub, repo, commit)
    cfg = task_config_for(task, out)
    assert (cfg["dataset_path"], cfg["dataset_name"]) == ("parquet", None)
    files = cfg["dataset_kwargs"]["data_files"]
    assert files == {s: [str(snapshot / f) for f in fs] for s, fs in manifest["splits"].items()}
    assert sorted(f for fs in files.values() for f in fs) == sorted(
        str(snapshot / f["path"]) for f in manifest["files"]
    )
    # prompts, choices, targets, metrics, splits: the registry's
    registry = task_config(task)
    assert (registry["dataset_path"], registry["dataset_name"]) == (repo, config)
    assert set(cfg) == set(registry) | {"dataset_kwargs"}
    for key in set(registry) - {"dataset_path", "dataset_name", "dataset_kwargs"}:
        assert cfg[key] == registry[key], key
    lm_task = ConfigurableTask(config=cfg)
    assert len(lm_task.training_docs()) == len(lm_task.validation_docs()) == ROWS
    doc = lm_task.validation_docs()[0]
    assert dict(doc) == _rows(shared_data / task / "validation.jsonl", 1)[0]
    assert isinstance(lm_task.doc_to_text(doc), str)
    assert lm_task.doc_to_text(doc)
    assert len(lm_task.doc_to_choice(doc)) == 2


def test_the_hub_cache_comes_from_the_environment(hub: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    source = _hub_source("copa").to_dict()  # a rule's params value
    manifest = prepare(source, tmp_path / "copa.json")
    assert Path(manifest["snapshot"]) == _snapshot(hub)
    assert manifest["documents"] == {"train": ROWS, "validation": ROWS}
    assert (hub / "datasets--aps--super_glue" / "iclprune" / f"{COMMIT}.copa.manifest.json").is_file()
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(
        DataSourceError, match=rf"is not in the hub cache {tmp_path / 'empty'} and HF_HUB_OFFLINE"
    ):
        prepare(source, tmp_path / "copa2.json")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (_hub_source("boolq", revision=None),
         r"^task 'boolq': dataset 'aps/super_glue' has no pinned revision; expected `revision: <40-hex commit>` "
         r"in its data spec"),
        (_hub_source("boolq", revision="main"),
         r"^task 'boolq': dataset 'aps/super_glue': revision 'main' is not a commit; expected a 40-hex commit"),
        (_hub_source("boolq", revision="f" * 40),
         r"^task 'boolq': dataset 'aps/super_glue'@f{40} is not in the hub cache .* HF_HUB_OFFLINE=1 forbids "
         r"downloading; expected a snapshot there"),
        (_hub_source("boolq", repo="example-org/other"), r"'example-org/other'@[0-9a-f]{40} is not in the hub cache"),
        (_hub_source("boolq", name="axb"),
         r"^task 'boolq': the dataset card .*README\.md has no config 'axb'; expected one of "
         r"\['boolq', 'cb', 'copa', 'wsc\.fixed', 'multirc'\]"),
        (_hub_source("multirc"),
         r"^task 'multirc': dataset 'aps/super_glue'@[0-9a-f]{40} is incomplete \(no files for "
         r"\{'train': \['multirc/train-\*'\]\}\) in the hub cache"),
        (_hub_source("boolq", data_files={"train": ["boolq/train-*"], "validation": ["boolq/dev-*"]}),
         r"^task 'boolq': .* is incomplete \(no files for \{'validation': \['boolq/dev-\*'\]\}\)"),
        (_hub_source("boolq", data_files={"validation": ["nowhere/*.parquet"]}),
         r"is incomplete \(no files for \{'validation': \['nowhere/\*\.parquet'\]\}\)"),
    ],
)  # fmt: skip
def test_hub_refusals_name_the_task_and_what_was_expected(
    hub: Path, tmp_path: Path, source: DataSource, message: str
) -> None:
    out = tmp_path / "manifest.json"
    with pytest.raises(DataSourceError, match=message) as err:
        prepare(source, out, cache_dir=hub)
    _one_line(err)
    assert not out.exists()
    assert not (hub / "datasets--aps--super_glue" / "iclprune").exists()


def test_explicit_data_files_override_the_card(hub: Path, tmp_path: Path) -> None:
    source = _hub_source(
        "boolq", data_files={"train": ["boolq/train-*"], "validation": ["boolq/validation-*"]}
    )
    manifest = prepare(source, tmp_path / "m.json", cache_dir=hub)
    assert manifest["allow_patterns"] == _parquet_files("boolq", "train", "validation")
    assert manifest["source"]["data_files"] == source.data_files


# ----------------------------------------------------------------------------------------- local sources
def _sha256sums(shared_data: Path) -> dict[str, str]:
    out = {}
    for line in (shared_data / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        out[name.lstrip("*").removeprefix("./")] = digest
    return out


def test_a_data_root_reads_each_tasks_folder_in_place(shared_data: Path, tmp_path: Path) -> None:
    before = sorted(p.relative_to(shared_data) for p in shared_data.rglob("*"))
    sources = task_sources({"data_root": str(shared_data)}, ["cb", "multirc_fixed", "hellaswag"])
    assert set(sources) == {"cb", "multirc_fixed"}  # hellaswag has no folder: it keeps its own source
    assert sources["cb"].files == {
        s: [str(shared_data / "cb" / f"{s}.jsonl")] for s in ("test", "train", "validation")
    }
    # a fixed task reads its base task's folder
    assert sources["multirc_fixed"].files["validation"] == [str(shared_data / "multirc" / "validation.jsonl")]
    sums = _sha256sums(shared_data)
    for task, folder, documents in [
        ("cb", "cb", {"train": 250, "validation": 56}),
        ("multirc_fixed", "multirc", {"train": 321, "validation": 4848}),
    ]:
        out = tmp_path / f"{task}.json"
        manifest = prepare(sources[task], out)
        assert manifest["documents"] == documents
        assert Path(manifest["snapshot"]) == shared_data / folder
        assert manifest["builder"] == "json"
        assert manifest["source"]["kind"] == "local"
        assert {f["path"]: f["sha256"] for f in manifest["files"]} == {
            p.removeprefix(f"{folder}/"): d for p, d in sums.items() if p.startswith(f"{folder}/")
        }
        assert verify_data(out) == manifest
    cfg = task_config_for("multirc_fixed", tmp_path / "multirc_fixed.json")
    from iclprune.evaluate.lmeval_fixes import MULTIRC_CHOICES

    assert cfg["doc_to_choice"] == MULTIRC_CHOICES  # the fix stays
    assert cfg["dataset_path"] == "json"
    assert (
        sorted(p.relative_to(shared_data) for p in shared_data.rglob("*")) == before
    )  # nothing written there


def test_data_sources_paths_and_files_and_the_precedence(
    shared_data: Path, tmp_path: Path, monkeypatch
) -> None:
    spec = tmp_path / "spec.yaml"
    entries = {
        t: {"repo": SUPER_GLUE, "name": t, "revision": COMMIT} for t in ("boolq", "cb", "copa", "multirc")
    }
    entries["arc_easy"] = {"repo": "allenai/ai2_arc", "name": "ARC-Easy", "revision": COMMIT}
    spec.write_text(yaml.safe_dump({"datasets": entries}))
    boolq = {
        "train": str(shared_data / "boolq/train.jsonl"),
        "validation": [str(shared_data / "boolq/validation.jsonl")],
    }
    config = {
        "data_sources": {"boolq": {"files": boolq}},
        "data_root": str(shared_data),
        "data_spec": "spec.yaml",
    }
    tasks = ["boolq", "cb", "arc_easy", "multirc_fixed", "hellaswag"]
    sources = task_sources(config, tasks, base_dir=tmp_path)
    assert set(sources) == {"boolq", "cb", "arc_easy", "multirc_fixed"}
    assert sources["boolq"].files == {
        s: [str(shared_data / f"boolq/{s}.jsonl")] for s in ("train", "validation")
    }
    assert sources["cb"].kind == "local"
    assert sources["cb"].files["train"] == [str(shared_data / "cb/train.jsonl")]
    assert sources["multirc_fixed"].kind == "local"
    assert sources["arc_easy"] == DataSource(
        "arc_easy", repo="allenai/ai2_arc", name="ARC-Easy", revision=COMMIT
    )
    # without a data_root: the data spec, a fixed task reading its base task's entry
    no_root = task_sources({**config, "data_root": None}, tasks, base_dir=tmp_path)
    assert no_root["cb"] == DataSource("cb", repo=SUPER_GLUE, name="cb", revision=COMMIT)
    assert no_root["multirc_fixed"] == DataSource(
        "multirc_fixed", repo=SUPER_GLUE, name="multirc", revision=COMMIT
    )
    assert no_root["boolq"].kind == "local"
    # `path:` relative to the config's folder, as a bare string, or from the home folder
    rel = os.path.relpath(shared_data / "copa", tmp_path)
    expected = {s: [str(shared_data / f"copa/{s}.jsonl")] for s in ("test", "train", "validation")}
    for entry in ({"path": rel}, rel):
        assert (
            task_sources({"data_sources": {"copa": entry}}, ["copa"], base_dir=tmp_path)["copa"].files
            == expected
        )
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "copa").symlink_to(shared_data / "copa")
    home = source_from_entry("copa", {"path": "~/copa"}, base_dir=tmp_path / "elsewhere", where="test")
    assert home.files == expected
    # a local source round-trips through a rule's params and names its files as the rule's inputs
    assert DataSource.from_dict(json.loads(sources["boolq"].to_json())) == sources["boolq"]
    assert sources["boolq"].local_files() == [
        str(shared_data / f"boolq/{s}.jsonl") for s in ("train", "validation")
    ]
    assert sources["boolq"].key().startswith("local-")
    assert sources["arc_easy"].key() == f"hub-allenai--ai2_arc-ARC-Easy-{COMMIT[:12]}"


def test_a_missing_split_sets_its_role_to_null_with_one_log_line(
    shared_data: Path, tmp_path: Path, caplog
) -> None:
    from iclprune.evaluate.taskdefs import task_config

    caplog.set_level(logging.INFO, logger="iclprune.evaluate.taskdata")
    # a registry task that also names a test split, given a source with only train and validation
    manifest = {"task": "arc_easy", "snapshot": str(tmp_path), "builder": "json",
                "splits": {"train": ["train.jsonl"], "validation": ["validation.jsonl"]}}  # fmt: skip
    registry = task_config("arc_easy")
    assert registry["test_split"] == "test"
    cfg = with_source(registry, manifest)
    assert (cfg["training_split"], cfg["validation_split"], cfg["test_split"]) == (
        "train",
        "validation",
        None,
    )
    lines = [r.getMessage() for r in caplog.records if "set to null" in r.getMessage()]
    assert lines == ["task arc_easy: the data source has no 'test' split; test_split set to null"]
    assert registry["test_split"] == "test"  # the registry's config is not changed
    # boolq with only its validation split: no demonstrations' split, evaluation still runs
    caplog.clear()
    source = source_from_entry("boolq", {"files": {"validation": str(shared_data / "boolq/validation.jsonl")}},
                               base_dir=tmp_path, where="data_sources.boolq")  # fmt: skip
    assert prepare(source, tmp_path / "boolq.json")["documents"] == {"validation": 3270}
    lines = [r.getMessage() for r in caplog.records if "set to null" in r.getMessage()]
    assert lines == ["task boolq: the data source has no 'train' split; training_split set to null"]
    # record (FewGLUE: only train): nothing to evaluate on, but importance can read it
    caplog.clear()
    record = task_sources({"data_root": str(shared_data)}, ["record_fixed"])["record_fixed"]
    with pytest.raises(DataSourceError, match=r"^task 'record_fixed': its data source has no split to evaluate on "
                       r"\(it has \['train'\]\); expected the task's validation or test split$"):  # fmt: skip
        prepare(record, tmp_path / "record.json")
    assert not (tmp_path / "record.json").exists()
    lines = [r.getMessage() for r in caplog.records if "set to null" in r.getMessage()]
    assert lines == [
        "task record_fixed: the data source has no 'validation' split; validation_split set to null"
    ]
    assert prepare(record, tmp_path / "record.json", need_eval=False)["documents"] == {"train": 64}


@pytest.mark.parametrize(
    ("task", "change", "message"),
    [
        ("boolq", lambda r: {("text" if k == "passage" else k): v for k, v in r.items()},
         r"^task 'boolq': documents of split 'train' lack field 'passage' that its doc_to_text needs; they have "
         r"\['idx', 'label', 'question', 'text'\]$"),
        ("boolq", lambda r: {k: v for k, v in r.items() if k != "label"},
         r"^task 'boolq': documents of split 'train' lack field 'label' \(its doc_to_target\)"),
        ("copa", lambda r: {k: v for k, v in r.items() if k != "choice2"},  # copa's templates are functions
         r"^task 'copa': documents of split 'train' lack field 'choice2' that the task needs"),
        ("record_fixed", lambda r: {k: v for k, v in r.items() if k != "entities"},  # read by process_docs
         r"^task 'record_fixed': documents of split 'train' lack field 'entities' that the task needs"),
    ],
)  # fmt: skip
def test_a_missing_field_fails_in_prepare_naming_task_split_and_field(
    shared_data: Path, tmp_path: Path, task: str, change, message: str
) -> None:
    folder = "record" if task == "record_fixed" else task
    rows = [change(r) for r in _rows(shared_data / folder / "train.jsonl", 5)]
    files = {s: str(_write_jsonl(tmp_path / "data" / f"{s}.jsonl", rows)) for s in ("train", "validation")}
    source = source_from_entry(task, {"files": files}, base_dir=tmp_path, where=f"data_sources.{task}")
    out = tmp_path / "manifest.json"
    with pytest.raises(DataSourceError, match=message) as err:
        prepare(source, out)
    _one_line(err)
    assert not out.exists()


def _mixed(tmp_path: Path) -> dict:
    folder = tmp_path / "mixed"
    _write_jsonl(folder / "train.jsonl", [{"a": 1}])
    (folder / "validation-00000-of-00001.parquet").write_bytes(b"PAR1")
    return {"data_sources": {"cb": {"path": str(folder)}}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (_mixed, r"^task 'cb': data files have suffixes \['\.jsonl', '\.parquet'\]; expected one format of"),
        (lambda t: {"data_sources": {"cb": {"path": "nowhere"}}},
         r"^task 'cb': data folder .*nowhere does not exist; expected a folder of split files$"),
        (lambda t: {"data_sources": {"cb": {"path": "."}}},
         r"^task 'cb': data folder .* holds no split files; expected files such as train\.jsonl"),
        (lambda t: {"data_sources": {"cb": {"files": {"train": "nope.jsonl"}}}},
         r"^task 'cb': data_sources\.cb file of split 'train' not found: .*nope\.jsonl$"),
        (lambda t: {"data_sources": {"cb": {"files": {}}}}, r"^task 'cb': data_sources\.cb files \{\}; expected split"),
        (lambda t: {"data_sources": {"cb": {"path": ".", "split": "train"}}},
         r"^task 'cb': data_sources\.cb has unknown keys \['split'\]; expected some of \['data_files', 'files', "),
        (lambda t: {"data_sources": {"cb": {"path": ".", "repo": SUPER_GLUE}}},
         r"^task 'cb': data_sources\.cb gives \['repo', 'path'\] of repo, path, files; expected exactly one$"),
        (lambda t: {"data_sources": {"cb": {"name": "cb"}}}, r"gives none of repo, path, files; expected exactly one"),
        (lambda t: {"data_sources": {"cb": {"path": "cb", "revision": COMMIT}}},
         r"^task 'cb': data_sources\.cb gives \['revision'\] with path; expected those only with `repo`"),
        (lambda t: {"data_sources": {"cb": {"repo": "super_glue", "name": "cb", "revision": COMMIT}}},
         r"^task 'cb': data_sources\.cb repo 'super_glue' is not a hub dataset id; expected 'org/name'$"),
        (lambda t: {"data_sources": {"cb": {"repo": SUPER_GLUE, "revision": 123}}},
         r"^task 'cb': data_sources\.cb revision 123; expected a 40-hex commit string$"),
        (lambda t: {"data_sources": {"cb": 42}}, r"^task 'cb': data_sources\.cb is 42; expected a mapping"),
        (lambda t: {"data_sources": {"cb": {"path": "."}, "wic": {"path": "."}}},
         r"^data_sources names \['wic'\], not tasks of this run; expected some of \['cb', 'copa'\]$"),
        (lambda t: {"data_sources": ["cb"]}, r"^data_sources is \['cb'\]; expected a mapping task → source$"),
        (lambda t: {"data_root": "nowhere"}, r"^data_root .*nowhere is not a folder; expected a folder with one sub"),
        (lambda t: {"data_spec": "nowhere.yaml"},
         r"^data spec .*/nowhere\.yaml not found; expected a YAML file with a `datasets` mapping$"),
    ],
)  # fmt: skip
def test_malformed_sources_are_refused_with_a_clear_message(tmp_path: Path, config, message: str) -> None:
    with pytest.raises(DataSourceError, match=message) as err:
        task_sources(config(tmp_path), ["cb", "copa"], base_dir=tmp_path)
    _one_line(err)


def test_data_spec_errors_and_an_unpinned_entry(hub: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("datasets: [boolq\n")
    with pytest.raises(DataSourceError, match=r"^data spec .*spec\.yaml is not valid YAML: "):
        read_data_spec(spec)
    for text in ("boolq: {repo: aps/super_glue}\n", "datasets: [boolq]\n", ""):
        spec.write_text(text)
        with pytest.raises(
            DataSourceError, match=r"has no `datasets` mapping; expected task → \{repo, name, rev"
        ):
            read_data_spec(spec)
    spec.write_text("datasets:\n  boolq: {repo: aps/super_glue, name: boolq, revision: null}\n")
    source = task_sources({"data_spec": str(spec)}, ["boolq"])["boolq"]  # cheap: no check yet
    assert source == DataSource("boolq", repo=SUPER_GLUE, name="boolq")
    with pytest.raises(
        DataSourceError, match=r"^task 'boolq': dataset 'aps/super_glue' has no pinned revision"
    ):
        prepare(source, tmp_path / "m.json", cache_dir=hub)
    spec.write_text("datasets:\n  boolq: {repo: aps/super_glue, name: boolq, revison: abc}\n")
    with pytest.raises(
        DataSourceError, match=r"^task 'boolq': data spec entry 'boolq' has unknown keys \['revison'\]"
    ):
        task_sources({"data_spec": str(spec)}, ["boolq"])


def test_the_paper_data_spec_gives_every_paper_task_the_dataset_lm_eval_reads(root: Path) -> None:
    from iclprune.evaluate.taskdata import base_task
    from iclprune.evaluate.taskdefs import registry_config

    if not (root / "config/paper_data.yaml").is_file():
        pytest.skip("config/paper_data.yaml is not written yet")
    paper = yaml.safe_load((root / "config/paper.yaml").read_text())
    tasks = list(paper["tasks"]) + list(paper.get("ood_tasks") or [])
    config = {k: v for k, v in paper.items() if k in ("data_spec", "data_root", "data_sources")}
    config.setdefault("data_spec", "config/paper_data.yaml")
    sources = task_sources(config, tasks, base_dir=root)
    assert sorted(sources) == sorted(tasks)
    for task, source in sources.items():
        assert source.kind == "hub", task
        registry = registry_config(base_task(task), resolve_functions=False)
        assert (source.repo, source.name) == (registry["dataset_path"], registry.get("dataset_name")), task


# ------------------------------------------------------------------------------------------ the commands
def test_fetch_data_and_verify_data_commands(
    hub: Path, shared_data: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    from iclprune.workflow.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # restored after the test (the command sets it)
    monkeypatch.chdir(tmp_path)
    assert main(["verify-data"]) == 2
    assert "no data manifests" in capsys.readouterr().err
    hub_args = ["fetch-data", "boolq", "--repo", SUPER_GLUE, "--name", "boolq", "--cache-dir", str(hub)]
    assert main([*hub_args, "--revision", COMMIT, "--out", "results/data/boolq/hub.json", "--offline"]) == 0
    out = capsys.readouterr().out
    assert f"boolq: {SUPER_GLUE}@{COMMIT}" in out
    assert "'validation': 20" in out
    assert json.loads((tmp_path / "results/data/boolq/hub.json").read_text())["documents"] == {
        "train": 20,
        "validation": 20,
    }
    assert (
        main(["fetch-data", "cb", "--path", str(shared_data / "cb"), "--out", "results/data/cb/local.json"])
        == 0
    )
    assert "'validation': 56" in capsys.readouterr().out
    assert main(["verify-data"]) == 0
    assert capsys.readouterr().out.splitlines() == ["ok boolq 2 files", "ok cb 3 files"]
    assert main(["verify-data", "results/data/cb/local.json"]) == 0
    assert capsys.readouterr().out == "ok cb 3 files\n"
    # refusals: one message, no traceback
    assert main([*hub_args, "--out", "x.json", "--offline"]) == 2
    err = capsys.readouterr().err
    assert "task 'boolq': dataset 'aps/super_glue' has no pinned revision" in err
    assert "Traceback" not in err
    assert main([*hub_args, "--revision", "main", "--out", "x.json"]) == 2
    assert "revision 'main' is not a commit" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fetch-data", "cb", "--path", str(shared_data / "cb"), "--revision", COMMIT, "--out", "x.json"])
    assert "--revision" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fetch-data", "cb", "--out", "x.json"])
    capsys.readouterr()
    assert not (tmp_path / "x.json").exists()
    # a flipped byte: the other manifests are still checked, the command fails naming the file
    blob = Path(os.path.realpath(_snapshot(hub) / "boolq/train-00000-of-00001.parquet"))
    blob.write_bytes(blob.read_bytes()[:-1] + b"\0")
    assert main(["verify-data"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "ok cb 3 files\n"
    assert "boolq/train-00000-of-00001.parquet: sha256" in captured.err
    assert "Traceback" not in captured.err
    assert main(["verify-data", "nowhere.json"]) == 2
    assert "nowhere.json" in capsys.readouterr().err


def test_one_split_in_another_layout_is_named_with_its_missing_field(
    shared_data: Path, tmp_path: Path
) -> None:
    """``datasets`` cannot cast splits of different fields to one schema; the error says which split lacks
    which field of the training split, not just that generation failed."""
    train = _rows(shared_data / "copa" / "train.jsonl", 5)
    validation = [
        {("context" if k == "premise" else k): v for k, v in r.items()}
        for r in _rows(shared_data / "copa" / "validation.jsonl", 5)
    ]
    files = {
        "train": str(_write_jsonl(tmp_path / "data" / "train.jsonl", train)),
        "validation": str(_write_jsonl(tmp_path / "data" / "validation.jsonl", validation)),
    }
    source = source_from_entry("copa", {"files": files}, base_dir=tmp_path, where="data_sources.copa")
    with pytest.raises(
        DataSourceError,
        match=r"^task 'copa': documents of split 'validation' lack field 'premise' that the other",
    ) as err:
        prepare(source, tmp_path / "manifest.json")
    _one_line(err)
