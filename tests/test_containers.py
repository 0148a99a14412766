"""Every Apptainer definition in containers/ is pinned: base image by digest, every Python package to
requirements.lock's version (the one source of truth), every %files source present in the repo.

Apptainer cannot be installed here, so nothing is built; the check reads the .def files with a small
parser of the format (header ``Key: value`` lines, then ``%section`` blocks) and looks at the parse:
a parse that finds no base image or no ``pip install`` fails too. The negative cases below build
temporary .def files that break one rule each, so the check is known to be able to fail.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
                 "-f", "--find-links", "--hash", "--target", "-t", "--prefix", "--root"}  # fmt: skip
LOCKED_BUILD_SWAP = {"torch"}  # the one package whose build (local version tag) an image may swap


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Definition:
    """A parsed .def file: header keys (lower-cased) and section bodies (logical lines)."""

    header: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)


def parse_def(text: str) -> Definition:
    """Header ``Key: value`` lines until the first ``%section``; section lines with ``\\`` continuations
    joined and comments dropped."""
    parsed = Definition()
    current: list[str] | None = None
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if (current is None or not pending) and (not line or line.startswith("#")):
            continue
        if line.startswith("%") and not pending:
            name = line[1:].split()[0].lower()
            current = parsed.sections.setdefault(name, [])
            continue
        if current is None:
            key, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"header line {raw!r} is not `Key: value`")
            parsed.header[key.strip().lower()] = value.strip()
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        current.append(pending + line)
        pending = ""
    return parsed


def read_requirements(path: Path) -> list[tuple[str, list[str]]]:
    """(requirement, options) per logical line of a pip requirements file."""
    out, pending = [], ""
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            req, *options = line.split()
            out.append((req, options))
    return out


def lock_pins(path: Path = ROOT / "requirements.lock") -> dict[str, str]:
    return {canonical(m[1]): m[2] for req, _ in read_requirements(path) if (m := PIN.match(req))}


def _check_pin(requirement: str, lock: dict[str, str], where: str) -> list[str]:
    m = PIN.match(requirement)
    if not m:
        return [f"{where}: {requirement!r} is not pinned with == to an exact version"]
    name, version = canonical(m[1]), m[2]
    if name not in lock:
        return [f"{where}: {m[1]} is not in requirements.lock"]
    if version == lock[name]:
        return []
    if name in LOCKED_BUILD_SWAP and version.split("+")[0] == lock[name].split("+")[0]:
        return []  # the same release, another build (e.g. CUDA instead of +cpu)
    return [f"{where}: {m[1]}=={version} disagrees with requirements.lock ({m[1]}=={lock[name]})"]


def _check_requirements_file(source: Path, lock: dict[str, str], hashed: bool) -> list[str]:
    """A requirements file copied into the image: exact pins; packages also in the lock agree with it
    (torch may swap its build); packages not in the lock only in a build-swap file such as
    containers/torch-cuda.lock, which must then carry hashes."""
    problems = []
    rows = read_requirements(source)
    names = {canonical(PIN.match(r)[1]) for r, _ in rows if PIN.match(r)}
    swap_file = bool(names & LOCKED_BUILD_SWAP) and source.resolve() != (ROOT / "requirements.lock").resolve()
    for req, options in rows:
        where = f"{source.name}"
        m = PIN.match(req)
        if not m:
            problems.append(f"{where}: {req!r} is not pinned with == to an exact version")
            continue
        if canonical(m[1]) in lock or not swap_file:
            problems += _check_pin(req, lock, where)
        if hashed and not any(o.startswith("--hash=sha256:") for o in options):
            problems.append(f"{where}: {req} has no --hash=sha256 but is installed with --require-hashes")
    if swap_file and not hashed:
        problems.append(
            f"{where}: packages outside requirements.lock must be installed with --require-hashes"
        )
    return problems


def check_definition(path: Path, root: Path = ROOT, lock: dict[str, str] | None = None) -> list[str]:
    """Every rule a .def must satisfy; returns the problems found (empty = pinned)."""
    lock = lock_pins() if lock is None else lock
    d = parse_def(path.read_text())
    problems = []
    bootstrap, base = d.header.get("bootstrap", ""), d.header.get("from", "")
    if bootstrap not in ("docker", "library", "oras"):
        problems.append(f"{path.name}: Bootstrap {bootstrap!r}; expected docker, library or oras")
    if not base:
        problems.append(f"{path.name}: no `From:` base image")
    elif not DIGEST.search(base):
        problems.append(f"{path.name}: base image {base!r} is not pinned by digest (@sha256:<64 hex>)")
    copied: dict[str, Path] = {}  # destination in the image → source in the repo
    for line in d.sections.get("files", []):
        src, *dest = line.split()
        if not (root / src).exists():
            problems.append(f"{path.name}: %files source {src!r} does not exist in the repo")
        copied[dest[0] if dest else "/" + src] = root / src
    lock_dest = {dst for dst, src in copied.items() if src.name == "requirements.lock"}
    derived: set[str] = set()
    installs = 0
    for command in (c for line in d.sections.get("post", []) for c in re.split(r"&&|;", line)):
        words = shlex.split(command)
        if ">" in words and any(w in lock_dest for w in words):  # e.g. grep -v '^torch==' LOCK > FILE
            derived.add(words[words.index(">") + 1])
        for i in range(len(words) - 1):
            if not (re.fullmatch(r"pip3?(\.\d+)?", Path(words[i]).name) and words[i + 1] == "install"):
                continue
            installs += 1
            args, flags, files, reqs = words[i + 2 :], set(), [], []
            j = 0
            while j < len(args):
                a = args[j]
                if a in VALUE_OPTIONS:
                    if a in ("-r", "--requirement"):
                        files.append(args[j + 1])
                    j += 2
                    continue
                if a.startswith("-"):
                    flags.add(a.split("=")[0])
                else:
                    reqs.append(a)
                j += 1
            where = f"{path.name}: `pip install {' '.join(args)}`"
            if "--no-deps" not in flags:
                problems.append(f"{where} lacks --no-deps (dependencies would be resolved unpinned)")
            for req in reqs:
                if req.startswith(("/", ".")):  # the project itself, copied in by %files
                    if not any(req.rstrip("/") == dst.rstrip("/") for dst in copied) and req not in copied:
                        local = [dst for dst in copied if dst.startswith(req.rstrip("/") + "/")]
                        if not local:
                            problems.append(f"{where}: local path {req!r} is not copied in by %files")
                    if "--no-build-isolation" not in flags:
                        problems.append(f"{where}: building {req!r} without --no-build-isolation fetches "
                                        "unpinned build requirements")  # fmt: skip
                else:
                    problems += _check_pin(req, lock, where)
            for f in files:
                if f in lock_dest or f in derived:
                    continue  # requirements.lock itself or a filtered copy of it
                if f in copied:
                    problems += _check_requirements_file(copied[f], lock, "--require-hashes" in flags)
                else:
                    problems.append(
                        f"{where}: requirements file {f!r} is neither requirements.lock nor copied in"
                    )
    if not installs:
        problems.append(f"{path.name}: no `pip install` found in %post; expected the pinned environment")
    return problems


DEFINITIONS = sorted((ROOT / "containers").glob("*.def"))


def test_there_are_cpu_and_cuda_images() -> None:
    assert {p.stem for p in DEFINITIONS} >= {"iclprune-cpu", "iclprune-cuda"}


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_every_definition_is_pinned(path: Path) -> None:
    assert check_definition(path) == []
    parsed = parse_def(path.read_text())  # the parse itself found what the checks rely on
    assert parsed.header["bootstrap"] == "docker"
    assert "requirements.lock" in " ".join(parsed.sections["files"])
    assert parsed.sections["environment"]
    assert parsed.sections["test"]
    assert any("HF_HUB_OFFLINE=1" in line for line in parsed.sections["environment"])


def test_the_cuda_image_swaps_only_torchs_build() -> None:
    lock = lock_pins()
    cuda = {
        canonical(PIN.match(r)[1]): PIN.match(r)[2]
        for r, _ in read_requirements(ROOT / "containers/torch-cuda.lock")
    }
    assert "+" in lock["torch"]
    assert cuda["torch"] == lock["torch"].split("+")[0]
    assert set(cuda) & set(lock) == {"torch"}  # the rest is the CUDA runtime, not in the CPU lock
    assert all(name.startswith(("nvidia-", "cuda-", "triton", "torch")) for name in cuda)
    text = (ROOT / "containers/iclprune-cuda.def").read_text()
    assert "--require-hashes -r /opt/iclprune/torch-cuda.lock" in text
    assert "grep -v '^torch==' /opt/iclprune/requirements.lock" in text


def test_configured_containers_have_definitions() -> None:
    schema = yaml.safe_load((ROOT / "config/schema.yaml").read_text())["properties"]
    named = {schema["container"]["default"]}
    if "container_gpu" in schema:
        named.add(schema["container_gpu"]["default"])
    for config in (ROOT / "config").glob("*.yaml"):
        data = yaml.safe_load(config.read_text())
        if isinstance(data, dict):
            named.update(data[k] for k in ("container", "container_gpu") if isinstance(data.get(k), str))
    for image in named:
        assert (ROOT / image).with_suffix(".def").is_file(), image


GOOD = """Bootstrap: docker
From: python:3.11-slim-bookworm@sha256:{digest}

%files
    requirements.lock /opt/x/requirements.lock
    src /opt/x/src
    pyproject.toml /opt/x/pyproject.toml

%post
    grep -v '^torch==' /opt/x/requirements.lock > /tmp/lock.txt
    pip install --no-deps -r /tmp/lock.txt
    pip install --no-cache-dir --no-deps \\
        numpy=={numpy} torch==2.13.0
    pip install --no-deps --no-build-isolation /opt/x
""".replace("{digest}", "a" * 64)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("", "", None),
        ("@sha256:" + "a" * 64, "", "base image 'python:3.11-slim-bookworm' is not pinned by digest"),
        ("@sha256:" + "a" * 64, "@sha256:abc", "is not pinned by digest"),
        ("numpy=={numpy}", "numpy", "'numpy' is not pinned with == to an exact version"),
        ("numpy=={numpy}", "numpy>=2", "'numpy>=2' is not pinned"),
        ("numpy=={numpy}", "numpy==1.26.4", "numpy==1.26.4 disagrees with requirements.lock (numpy=="),
        ("torch==2.13.0", "torch==2.12.0", "torch==2.12.0 disagrees with requirements.lock"),
        ("numpy=={numpy}", "leftpad==1.0", "leftpad is not in requirements.lock"),
        ("src /opt/x/src", "srcs /opt/x/src", "%files source 'srcs' does not exist in the repo"),
        ("-r /tmp/lock.txt", "-r /tmp/other.txt", "requirements file '/tmp/other.txt' is neither"),
        ("pip install --no-deps -r", "pip install -r", "lacks --no-deps"),
        ("--no-deps --no-build-isolation /opt/x", "--no-deps /opt/x", "without --no-build-isolation"),
        ("From: python", "From:python", None),
    ],
)
def test_a_broken_definition_is_caught(tmp_path: Path, old: str, new: str, problem: str | None) -> None:
    lock = lock_pins()
    text = GOOD.replace("{numpy}", lock["numpy"])
    assert old.replace("{numpy}", lock["numpy"]) in text
    bad = tmp_path / "bad.def"
    bad.write_text(text.replace(old.replace("{numpy}", lock["numpy"]), new, 1) if old else text)
    found = check_definition(bad, lock=lock)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1, found
        assert problem in found[0]


def test_a_definition_without_base_or_installs_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "empty.def"
    bad.write_text("Bootstrap: localimage\n\n%post\n    echo nothing\n")
    found = check_definition(bad)
    assert any("Bootstrap 'localimage'" in p for p in found)
    assert any("no `From:` base image" in p for p in found)
    assert any("no `pip install` found" in p for p in found)


def test_a_swapped_requirements_file_must_agree_and_be_hashed(tmp_path: Path) -> None:
    lock = lock_pins()
    (tmp_path / "requirements.lock").write_text((ROOT / "requirements.lock").read_text())
    extra = tmp_path / "extra.lock"
    d = tmp_path / "x.def"
    d.write_text(
        "Bootstrap: docker\nFrom: x@sha256:" + "b" * 64 + "\n%files\n    requirements.lock /r.lock\n"
        "    extra.lock /e.lock\n%post\n    pip install --no-deps --require-hashes -r /e.lock\n"
    )
    extra.write_text(
        "torch==2.13.0 \\\n    --hash=sha256:" + "c" * 64 + "\nnvidia-x==1.0 --hash=sha256:" + "d" * 64 + "\n"
    )
    assert check_definition(d, root=tmp_path, lock=lock) == []
    extra.write_text("torch==2.13.0 --hash=sha256:" + "c" * 64 + "\nnvidia-x==1.0\n")
    assert check_definition(d, root=tmp_path, lock=lock) == [
        "extra.lock: nvidia-x==1.0 has no --hash=sha256 but is installed with --require-hashes"
    ]
    extra.write_text(f"torch==2.13.0 --hash=sha256:{'c' * 64}\nnumpy==0.1 --hash=sha256:{'d' * 64}\n")
    assert "numpy==0.1 disagrees with requirements.lock" in " ".join(
        check_definition(d, root=tmp_path, lock=lock)
    )
