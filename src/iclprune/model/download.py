"""Hub models for the cluster: a snapshot at a pinned commit, a checksum manifest beside it, verification.

The workflow's ``download_model`` rule runs :func:`download_model` once per hub-sourced model (a spec whose
``source`` is a hub id such as ``facebook/opt-66b``); every later job loads the snapshot with
``HF_HUB_OFFLINE=1``. The steps:

1. The revision must be pinned: a 40-hex commit (a branch or tag such as ``main`` can move, so with
   ``require_commit`` it is an error naming the model and what was expected).
2. :func:`download_snapshot` looks for a complete snapshot in the local Hugging Face cache first (no
   network); only when it is missing, and ``HF_HUB_OFFLINE`` is off, does
   ``huggingface_hub.snapshot_download`` fetch it — only the files a model needs
   (:data:`ALLOW_PATTERNS`: safetensors weights, JSON configs, tokenizer files).
3. :func:`build_manifest` hashes every kept file (SHA-256 and size). Where the cache stores a file as a
   blob named by its hash (the hub cache layout: LFS files by SHA-256, others by git blob SHA-1), the
   content is checked against that name too, so a corrupted download is caught before the manifest
   records it.
4. The manifest (JSON) is written atomically beside the snapshot, ``models--org--name/iclprune/<commit>.
   manifest.json`` (outside ``snapshots/``, which the hub cache scanner requires to hold only folders),
   and to the rule's output. A manifest already there from an earlier download is compared first: a file
   whose bytes changed since is a :class:`ChecksumError`.

:func:`verify_snapshot` re-hashes a snapshot against a manifest and names every missing or changed file.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MANIFEST_FORMAT = "iclprune-manifest/1"
ALLOW_PATTERNS: tuple[str, ...] = (
    "*.safetensors",
    "*.json",  # config, generation config, safetensors index, tokenizer.json, vocab.json, special tokens
    "tokenizer.model",  # sentencepiece
    "*.tiktoken",
    "merges.txt",  # GPT-2/OPT byte BPE
    "vocab.txt",
    "*.jinja",  # chat template
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 24
# the same rules as iclprune.model.models.ModelRef / _looks_like_path, without importing torch (the Snakefile
# calls hub_repo_id while building the DAG); tests/test_download.py checks that the two agree
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class DownloadError(ValueError):
    """A hub model could not be pinned, found or downloaded; the message names it and what was expected."""


class ChecksumError(DownloadError):
    """A snapshot's files differ from their manifest (or from their hub hash); the message names them."""


# --------------------------------------------------------------------------------------------- specs
def hub_repo_id(spec: Mapping[str, Any] | str) -> str | None:
    """The hub repo id of a model spec (``{"source": "facebook/opt-66b", ...}``), or None when the source
    is ``embedded``, ``tiny:<family>`` or a local directory (see :class:`iclprune.model.models.ModelRef`)."""
    source = spec if isinstance(spec, str) else spec.get("source", "")
    if not isinstance(source, str):
        raise DownloadError(
            f"model source {source!r} must be a string (embedded, tiny:<family>, path, hub id)"
        )
    ref = source.strip()
    if not ref or ref == "embedded" or ref.startswith(("embedded:", "tiny:")):
        return None
    if ref.startswith(("/", "./", "../", "~")) or Path(ref).exists() or not _HUB_ID.match(ref):
        return None
    return ref


def check_revision(
    repo_id: str, revision: str | None, *, require_commit: bool = True, kind: str = "model"
) -> str:
    """Return ``revision`` if it pins ``repo_id``; raise :class:`DownloadError` otherwise. ``kind`` is
    ``model`` or ``dataset`` (it only changes the message)."""
    where = "model spec" if kind == "model" else "data spec"
    lookup = (
        f"hf download {repo_id} --dry-run"
        if kind == "model"
        else f"hf download {repo_id} --repo-type dataset --dry-run"
    )
    if revision is None or not str(revision).strip():
        raise DownloadError(
            f"{kind} {repo_id!r} has no pinned revision; expected `revision: <40-hex commit>` in its {where} "
            f"(find it with `{lookup}` or on the {kind} page's history) so that every run reads the same bytes"
        )
    revision = str(revision).strip()
    if require_commit and not COMMIT.fullmatch(revision):
        raise DownloadError(
            f"{kind} {repo_id!r}: revision {revision!r} is not a commit; expected a 40-hex commit hash (a branch "
            "or tag such as 'main' can move to other files)"
        )
    return revision


def hub_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The hub cache: ``cache_dir``, else ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
    ``~/.cache/huggingface/hub`` (read now, not when huggingface_hub was imported)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser().resolve()
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser().resolve()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return (Path(home).expanduser() / "hub").resolve()


def manifest_path(snapshot: str | os.PathLike[str]) -> Path:
    """Where the manifest of ``.../models--org--name/snapshots/<commit>`` lives in the cache:
    ``.../models--org--name/iclprune/<commit>.manifest.json``."""
    snap = Path(snapshot)
    return snap.parent.parent / "iclprune" / f"{snap.name}.manifest.json"


# ------------------------------------------------------------------------------------------ snapshot
def _kept(relpaths: Sequence[str], allow_patterns: Sequence[str]) -> list[str]:
    return sorted(p for p in relpaths if any(fnmatch.fnmatch(p, pat) for pat in allow_patterns))


def _files(snapshot: Path, allow_patterns: Sequence[str]) -> list[str]:
    rel = [p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()]
    return _kept(rel, allow_patterns)


def missing_model_files(snapshot: Path, files: Sequence[str]) -> list[str]:
    """What a loadable model lacks among ``files`` (paths relative to ``snapshot``): ``config.json``,
    safetensors weights (every shard its index names), a tokenizer. Empty when complete."""
    have = set(files)
    missing = [] if "config.json" in have else ["config.json"]
    index = "model.safetensors.index.json"
    if index in have:
        from iclprune.core.io import read_json

        try:
            shards = set(read_json(snapshot / index).get("weight_map", {}).values())
        except (ValueError, AttributeError) as err:
            raise DownloadError(f"{snapshot / index} is not a valid safetensors index: {err}") from err
        missing += sorted(s for s in shards if s not in have)
    elif not any(f.endswith(".safetensors") for f in have):
        missing.append("*.safetensors (weights; this revision may only have legacy .bin files)")
    if not any(Path(f).name in TOKENIZER_FILES or f.endswith(".tiktoken") for f in have):
        missing.append(f"a tokenizer ({', '.join(TOKENIZER_FILES)})")
    return missing


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def download_snapshot(
    repo_id: str,
    revision: str | None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    require_commit: bool = True,
    allow_patterns: Sequence[str] = ALLOW_PATTERNS,
) -> Path:
    """The snapshot folder of ``repo_id`` at ``revision`` in the hub cache, downloading what is missing.

    A complete cached snapshot is returned without any network access; otherwise, unless
    ``HF_HUB_OFFLINE=1``, ``huggingface_hub.snapshot_download`` fetches the files matching
    ``allow_patterns``. Raises :class:`DownloadError` naming the model on a bad revision, a snapshot that
    is not cached while offline, a hub error, or a snapshot that lacks config/weights/tokenizer.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    revision = check_revision(repo_id, revision, require_commit=require_commit)
    cache = hub_cache_dir(cache_dir)
    common = dict(revision=revision, cache_dir=str(cache), allow_patterns=list(allow_patterns))
    snapshot: Path | None = None
    with contextlib.suppress(LocalEntryNotFoundError):
        snapshot = Path(snapshot_download(repo_id, local_files_only=True, **common))
    if snapshot is not None and not missing_model_files(snapshot, _files(snapshot, allow_patterns)):
        log.info(
            "%s@%s: complete snapshot in the cache (%s); nothing to download", repo_id, revision, snapshot
        )
        return snapshot
    if _offline():
        state = "is incomplete" if snapshot is not None else "is not"
        raise DownloadError(
            f"model {repo_id!r} at revision {revision} {state} in the hub cache {cache} and HF_HUB_OFFLINE=1 "
            "forbids downloading; expected a complete snapshot there: run the download with network access "
            "(HF_HUB_OFFLINE=0), or copy the cache from a machine that has it"
        )
    log.info("downloading %s@%s (%s) into %s", repo_id, revision, ", ".join(allow_patterns), cache)
    try:
        snapshot = Path(snapshot_download(repo_id, **common))
    except RevisionNotFoundError as err:
        raise DownloadError(f"model {repo_id!r} has no revision {revision!r} on the hub: {err}") from err
    except (RepositoryNotFoundError, GatedRepoError) as err:
        raise DownloadError(
            f"model {repo_id!r} is not on the hub or needs access (log in with `hf auth login`): {err}"
        ) from err
    except LocalEntryNotFoundError as err:
        raise DownloadError(f"could not download model {repo_id!r}@{revision} (network?): {err}") from err
    missing = missing_model_files(snapshot, _files(snapshot, allow_patterns))
    if missing:
        raise DownloadError(
            f"model {repo_id!r} at revision {revision} lacks {missing} after download into {snapshot}; expected "
            "config.json, safetensors weights and a tokenizer (pin a revision that has safetensors)"
        )
    return snapshot


# -------------------------------------------------------------------------------------------- hashing
def _hashes(path: Path) -> tuple[int, str, str]:
    """(size, sha256, git blob sha1) of one file, read once in 16 MiB chunks."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha256.update(chunk)
            git.update(chunk)
    return size, sha256.hexdigest(), git.hexdigest()


def _hash_all(snapshot: Path, files: Sequence[str]) -> dict[str, tuple[int, str, str]]:
    workers = max(1, min(8, os.cpu_count() or 1, len(files)))
    with ThreadPoolExecutor(max_workers=workers) as pool:  # hashlib releases the GIL on large buffers
        return dict(zip(files, pool.map(lambda f: _hashes(snapshot / f), files), strict=True))


def _blob_name(path: Path) -> str | None:
    """The hub-cache blob a snapshot entry links to (named by the file's hash), or None for a plain file."""
    if not path.is_symlink():
        return None
    target = Path(os.path.realpath(path))
    return target.name if target.parent.name == "blobs" else None


def build_manifest(
    snapshot: str | os.PathLike[str],
    repo_id: str,
    revision: str,
    *,
    allow_patterns: Sequence[str] = ALLOW_PATTERNS,
) -> dict[str, Any]:
    """Hash every file of ``snapshot`` matching ``allow_patterns``: the manifest (plain JSON data).

    Raises :class:`ChecksumError` naming every file whose content disagrees with the hash its hub-cache
    blob is named by (SHA-256 for LFS files, git blob SHA-1 for the others).
    """
    snap = Path(snapshot).absolute()
    files = _files(snap, allow_patterns)
    if not files:
        raise DownloadError(f"snapshot {snap} of {repo_id!r} holds no files matching {list(allow_patterns)}")
    hashes = _hash_all(snap, files)
    entries, bad = [], []
    for rel in files:
        size, sha256, git_sha1 = hashes[rel]
        blob = _blob_name(snap / rel)
        if blob is not None:
            expected = sha256 if _SHA256.fullmatch(blob) else git_sha1 if COMMIT.fullmatch(blob) else None
            if expected is not None and expected != blob:
                bad.append(f"{rel}: content hash {expected} but the hub blob is {blob}")
        entries.append({"path": rel, "size": size, "sha256": sha256, "blob": blob})
    if bad:
        raise ChecksumError(
            f"corrupted download of {repo_id!r}@{revision} in {snap}: "
            + "; ".join(bad)
            + "; expected each file's hash to equal its blob name — delete those blobs and download again"
        )
    from importlib.metadata import version

    return {
        "format": MANIFEST_FORMAT,
        "repo_id": repo_id,
        "revision": revision,
        "commit": snap.name,
        "snapshot": str(snap),
        "allow_patterns": list(allow_patterns),
        "n_files": len(entries),
        "total_bytes": sum(e["size"] for e in entries),
        "files": entries,
        "huggingface_hub": version("huggingface_hub"),
    }


def _load_manifest(manifest: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    from iclprune.core.io import read_json

    data = dict(manifest) if isinstance(manifest, Mapping) else read_json(manifest)
    if data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("files"), list):
        raise DownloadError(
            f"{manifest if not isinstance(manifest, Mapping) else 'manifest'} is not a model manifest; "
            f"expected format {MANIFEST_FORMAT!r} with a `files` list"
        )
    return data


def _compare(expected: Mapping[str, Any], actual: Mapping[str, tuple[int, str]], where: Path) -> list[str]:
    problems = []
    for entry in expected["files"]:
        rel = entry["path"]
        if rel not in actual:
            problems.append(f"{rel}: missing from {where}")
            continue
        size, sha256 = actual[rel]
        if size != entry["size"]:
            problems.append(f"{rel}: {size} bytes, expected {entry['size']}")
        elif sha256 != entry["sha256"]:
            problems.append(f"{rel}: sha256 {sha256}, expected {entry['sha256']}")
    return problems


def verify_snapshot(
    manifest: Mapping[str, Any] | str | os.PathLike[str], snapshot: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Re-hash ``snapshot`` (default: the one the manifest names) against ``manifest``; return the manifest.

    Raises :class:`ChecksumError` naming every listed file that is missing or whose size or SHA-256
    changed, with the expected and actual values.
    """
    data = _load_manifest(manifest)
    snap = Path(snapshot) if snapshot is not None else Path(data["snapshot"])
    if not snap.is_dir():
        raise ChecksumError(
            f"snapshot folder {snap} of {data['repo_id']!r}@{data['revision']} does not exist; expected the "
            "folder the manifest was written for — run the download again"
        )
    present = [e["path"] for e in data["files"] if (snap / e["path"]).is_file()]
    actual = {rel: hashes[:2] for rel, hashes in _hash_all(snap, present).items()}
    problems = _compare(data, actual, snap)
    if problems:
        raise ChecksumError(
            f"checksum mismatch for {data['repo_id']!r}@{data['revision']} in {snap}: "
            + "; ".join(problems)
            + " — expected the files the manifest lists; delete the snapshot and download again"
        )
    log.info("verified %d files (%d bytes) of %s", len(present), data["total_bytes"], data["repo_id"])
    return data


# ------------------------------------------------------------------------------------------ the stage
def download(
    repo_id: str,
    revision: str | None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    require_commit: bool = True,
    allow_patterns: Sequence[str] = ALLOW_PATTERNS,
) -> dict[str, Any]:
    """Snapshot ``repo_id`` at a pinned ``revision``, hash it, write its manifest beside it (and to ``out``).

    A manifest already beside the snapshot (an earlier download) is checked against the fresh hashes
    first, so bytes that changed in the cache since are a :class:`ChecksumError` instead of a new
    manifest. Returns the manifest.
    """
    from iclprune.core.io import write_json

    snapshot = download_snapshot(
        repo_id, revision, cache_dir=cache_dir, require_commit=require_commit, allow_patterns=allow_patterns
    )
    manifest = build_manifest(snapshot, repo_id, str(revision), allow_patterns=allow_patterns)
    beside = manifest_path(snapshot)
    if beside.is_file():
        earlier = _load_manifest(beside)
        actual = {e["path"]: (e["size"], e["sha256"]) for e in manifest["files"]}
        problems = _compare(earlier, actual, snapshot)
        if problems:
            raise ChecksumError(
                f"checksum mismatch for {repo_id!r}@{revision}: the cached snapshot {snapshot} changed since "
                f"its manifest {beside} was written: "
                + "; ".join(problems)
                + " — delete the snapshot (and that manifest) and download again"
            )
    write_json(manifest, beside)
    if out is not None:
        write_json(manifest, out)
    log.info("%s@%s: %d files, %d bytes; manifest %s", repo_id, revision, manifest["n_files"],
             manifest["total_bytes"], beside)  # fmt: skip
    return manifest


def checkpoint_branch(repo_id: str, step: int) -> str | None:
    """The hub branch holding training step ``step`` of ``repo_id`` where the repository names its
    checkpoints by a known scheme (EleutherAI's Pythia models: ``step<N>``), else None."""
    return f"step{step}" if repo_id.lower().startswith("eleutherai/pythia-") else None


def _checkpoint_hint(repo_id: str, step: Any) -> str:
    """How to pin the commit of a training checkpoint (``step``) of ``repo_id``."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise DownloadError(
            f"step {step!r} of model {repo_id!r}: expected a training step, an integer >= 0 (a checkpoint)"
        )
    lookup = f"huggingface_hub.HfApi().list_repo_refs({repo_id!r})"
    branch = checkpoint_branch(repo_id, step)
    if branch is not None:
        return (
            f"pin the 40-hex commit of branch {branch} of {repo_id} ({lookup}: the target_commit of the branch "
            f"named {branch}) as `revision:`"
        )
    return (
        f"pin the 40-hex commit of the branch or tag that holds training step {step} of {repo_id} ({lookup} "
        "lists them with their target_commit) as `revision:`"
    )


def download_model(
    spec: Mapping[str, Any],
    out: str | os.PathLike[str],
    *,
    name: str | None = None,
    require_commit: bool = True,
) -> dict[str, Any]:
    """The workflow stage: download the hub model of a model spec (``source`` = hub id, ``revision`` =
    commit) and write its manifest to ``out``. ``name`` (the config key) only improves error messages.

    A training checkpoint (``step`` in the spec) is the repository at the commit of that step's branch: with
    no pinned revision (or a branch name) it is refused with the branch to pin (Pythia: ``step<N>``), since
    the repository's main branch holds the final model, not the checkpoint."""
    repo_id = hub_repo_id(spec)
    label = f"model {name!r} (source {spec.get('source')!r})" if name else f"source {spec.get('source')!r}"
    if repo_id is None:
        raise DownloadError(f"{label} is not a hub id; expected 'org/name' — only hub models are downloaded")
    revision, step = spec.get("revision"), spec.get("step")
    if step is not None:
        hint = _checkpoint_hint(repo_id, step)
        if revision is None or not str(revision).strip():
            raise DownloadError(
                f"{label}: the checkpoint at training step {step} has no pinned revision; {hint} (without it the "
                "download would read the final model of the main branch)"
            )
        if require_commit and not COMMIT.fullmatch(str(revision).strip()):
            raise DownloadError(
                f"{label}: the checkpoint at training step {step} has revision {revision!r}, which is not a "
                f"commit; {hint} (a branch can move to other files)"
            )
    try:
        return download(repo_id, revision, out=out, require_commit=require_commit)
    except DownloadError as err:
        if name:
            raise type(err)(f"{label}: {err}") from err
        raise
