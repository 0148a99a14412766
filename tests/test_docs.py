"""The README and docs/ hold together: every relative link resolves (file and heading), every docs page is
reachable from the README, every repository path they quote exists, and docs/configuration.md lists
exactly the keys of config/schema.yaml with the schema's types and defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`([^`\n]+)`")
# top-level folders whose quoted paths must exist (results/, resources/, logs/ are outputs of a run)
TRACKED = ("src/", "tests/", "bench/", "scripts/", "rules/", "config/", "containers/", "profiles/", "tasks/")
# which pattern-keyed objects of the schema hold named blocks, and what the docs call their keys
PLACEHOLDERS = {"models": "<name>", "data_sources": "<task>"}


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def prose(path: Path) -> str:
    """The page without its fenced code blocks (links and paths there are examples, not references)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+\s+(.*)$", prose(path), re.M)}


def links(path: Path) -> list[str]:
    return [t for t in LINK.findall(CODE.sub("", prose(path))) if not re.match(r"[a-z]+:", t)]


def test_relative_links_resolve(root) -> None:
    broken = []
    for page in pages(root):
        for target in links(page):
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            if not dest.exists():
                broken.append(f"{page.relative_to(root)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.relative_to(root)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_every_docs_page_is_reachable_from_the_readme(root) -> None:
    seen, todo = set(), [(root / "README.md").resolve()]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md" or not page.is_file():
            continue
        seen.add(page)
        todo += [(page.parent / t.partition("#")[0]).resolve() for t in links(page) if t.partition("#")[0]]
    unreachable = [str(p.relative_to(root)) for p in pages(root) if p.resolve() not in seen]
    assert not unreachable


def test_quoted_repository_paths_exist(root) -> None:
    """Paths such as `src/iclprune/model/surgery.py` in the prose name files that exist (the package
    moves; the docs follow)."""
    missing = []
    for page in pages(root):
        for code in CODE.findall(prose(page)):
            path = code.split()[0] if code.split() else ""
            quoted = path.startswith(TRACKED) and not re.search(r"[*<>{}…|]", path)
            if quoted and not (root / path).exists():
                missing.append(f"{page.relative_to(root)}: {path}")
    assert not missing, "\n".join(missing)


def schema_keys(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(dotted key, its schema, required) for every property at every depth, in the schema's order."""
    for key, sub in node.get("properties", {}).items():
        path = prefix + key
        yield path, sub, key in node.get("required", [])
        yield from schema_keys(sub, path + ".")
        named = sub.get("additionalProperties")
        if isinstance(named, dict) and "properties" in named:
            yield from schema_keys(named, f"{path}.{PLACEHOLDERS[key]}.")


def type_cell(s: dict[str, Any]) -> str:
    kind = s.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    items = s.get("items")
    if isinstance(items, dict) and "type" in items:
        kind = kind.replace("array", f"array of {items['type']}", 1)
    if "enum" in s:
        kind += ": " + ", ".join(f"`{v}`" for v in s["enum"])
    return kind


def default_cell(s: dict[str, Any], required: bool) -> str:
    if "default" in s:
        return f"`{json.dumps(s['default'])}`"
    return "required" if required else "—"


ROW = re.compile(r"^\| `([^`]+)` \| (.*?) \| (.*?) \| (.+) \|$")


@pytest.fixture(scope="module")
def documented(root) -> dict[str, tuple[str, str, str]]:
    text = (root / "docs/configuration.md").read_text(encoding="utf-8")
    rows = [ROW.match(line) for line in text.splitlines()]
    return {m[1]: (m[2], m[3], m[4]) for m in rows if m}


def test_every_schema_key_is_documented(root, documented) -> None:
    schema = yaml.safe_load((root / "config/schema.yaml").read_text())
    keys = list(schema_keys(schema))
    assert {k for k, _, _ in keys} >= {"model", "cluster.gpu_mem_gib", "models.<name>.offload.cpu"}
    assert [k for k in documented] == [k for k, _, _ in keys]  # every key, none stale, in schema order
    for key, sub, required in keys:
        kind, default, meaning = documented[key]
        assert (kind, default) == (type_cell(sub), default_cell(sub, required)), key
        assert meaning.strip(), key
