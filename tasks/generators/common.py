"""Shared infrastructure of the task generators: constants, ``TaskSpec``, seeded RNGs and split helpers.

Every task module imports from here; nothing here depends on a task.  Standard library only.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

SEED = "iclprune-task-suite-v1"  # with the task name, the seed of each task's RNG (see task_rng)
VAL_CAP = 200  # validation docs per task, at most (CPU eval time)
GEN_TRAIN = 200  # docs per split for the open-ended (template-generated) tasks
GEN_VAL = 150


@dataclass
class TaskSpec:
    """One generated task: its docs per split and the fields of its lm-eval YAML.

    ``train`` / ``validation`` are lists of JSON-able docs (``finalize`` later adds each doc's ``id``);
    multiple-choice docs carry ``choices`` (list of str) and ``label`` (index of the gold choice).
    ``doc_to_text`` is a ``{{field}}`` template over a doc's fields; ``chance`` is 1/#choices (0.0 for
    loglikelihood tasks).
    """

    name: str
    kind: str
    mirrors: str
    doc_to_text: str
    train: list[dict]
    validation: list[dict]
    chance: float
    ood: bool = False
    output_type: str = "multiple_choice"
    doc_to_choice: str | None = "{{choices}}"
    doc_to_target: str = "{{label}}"
    target_delimiter: str = " "


def words(s: str) -> list[str]:
    """Whitespace-separated words of ``s`` (a compact way to write word lists)."""
    return s.split()


def task_rng(name: str) -> random.Random:
    """The task's own RNG, seeded with ``SEED`` and its name (no other task draws from it)."""
    # str seeds are hashed with sha512 by random.seed (version 2): stable across runs and platforms.
    return random.Random(f"{SEED}:{name}")


def mc(rng: random.Random, gold: str, distractors: list[str]) -> dict:
    """Shuffle ``gold`` among ``distractors``; return {'choices': [...], 'label': index_of_gold}."""
    choices = [gold, *distractors]
    if len(set(choices)) != len(choices):
        raise ValueError(f"duplicate choices: {choices}")
    rng.shuffle(choices)
    return {"choices": choices, "label": choices.index(gold)}


def balance_binary(docs: list[dict]) -> list[dict]:
    """Make two-choice docs exactly label-balanced (alternate the gold position; order is shuffled later)."""
    for i, d in enumerate(docs):
        if d["label"] != i % 2:
            d["choices"] = d["choices"][::-1]
            d["label"] = i % 2
    return docs


def pick_distractors(rng: random.Random, pool: list[str], exclude: list[str], k: int) -> list[str]:
    """k distinct items from ``pool`` (order-preserving list) that are not in ``exclude``."""
    cands = [p for p in dict.fromkeys(pool) if p not in exclude]
    return rng.sample(cands, k)


def halve(rng: random.Random, items: list, strata: Callable | None = None) -> tuple[list, list]:
    """Split items into two disjoint halves (train, validation), stratified by ``strata(item)``."""
    groups: dict = {}
    for it in items:
        groups.setdefault(strata(it) if strata else 0, []).append(it)
    train, val = [], []
    flip = 0
    for key in groups:  # dict preserves first-seen order -> deterministic
        g = list(groups[key])
        rng.shuffle(g)
        for it in g:
            (train if flip % 2 == 0 else val).append(it)
            flip += 1
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val


def check_unique(items: list, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` if any item occurs twice."""
    seen = set()
    for it in items:
        if it in seen:
            raise ValueError(f"duplicate {what}: {it!r}")
        seen.add(it)


def render(template: str, doc: dict) -> str:
    """Tiny renderer for the '{{field}}' templates used here (mirrors what lm-eval's Jinja does)."""
    out = template
    for k, v in doc.items():
        out = out.replace("{{" + k + "}}", str(v))
    if "{{" in out:
        raise ValueError(f"unrendered template {template!r} for {doc}")
    return out


NAMES_F = words(
    "Anna Maria Sarah Emma Lucy Grace Julia Laura Nora Olivia Sophie Rosa Hannah Chloe Alice Ella Mia Zoe Ruth Amy Clara Lily Kate Helen"
)
NAMES_M = words(
    "Tom Ben Sam Jack Leo Max Adam David Peter Paul Mark Luke Noah Oscar Henry Daniel Omar Ivan Carlos Hugo Felix Victor Liam Ryan"
)


def person(rng: random.Random, avoid: tuple[str, ...] = ()) -> dict:
    """A random person not named in ``avoid``: ``{"N": name, "p": she/he, "P": She/He, "pp": her/his,
    "o": her/him}``."""
    female = rng.random() < 0.5
    pool = [n for n in (NAMES_F if female else NAMES_M) if n not in avoid]
    name = rng.choice(pool)
    if female:
        return {"N": name, "p": "she", "P": "She", "pp": "her", "o": "her"}
    return {"N": name, "p": "he", "P": "He", "pp": "his", "o": "him"}


def fill(template: str, who: dict) -> str:
    """Replace ``{N}``, ``{P}``, ``{pp}``, ``{p}``, ``{o}`` in ``template`` with the fields of ``who``."""
    out = template
    for k in ("N", "P", "pp", "p", "o"):
        out = out.replace("{" + k + "}", who[k])
    return out


def lexical_task(
    name: str,
    pairs: list[tuple[str, str]],
    text: str,
    field: str,
    kind: str,
    distractor_fn: Callable[[random.Random, str, str], list[str]],
    strata: Callable | None = None,
    mirrors: str = "none (lexical mapping)",
) -> TaskSpec:
    """Generic cue->answer multiple-choice task; cues are split disjointly between train and validation."""
    rng = task_rng(name)
    check_unique([c for c, _ in pairs], f"{name} cue")
    tr, va = halve(rng, pairs, strata)
    splits = []
    for part in (tr, va):
        docs = []
        for cue, gold in part:
            docs.append({field: cue, **mc(rng, gold, distractor_fn(rng, cue, gold))})
        splits.append(docs)
    return TaskSpec(
        name=name,
        kind=kind,
        mirrors=mirrors,
        doc_to_text=text,
        train=splits[0],
        validation=splits[1][:VAL_CAP],
        chance=0.25,
    )


def parse_pairs(block: str) -> list[tuple[str, str]]:
    """'a = b' per line (blank lines and '#' comments ignored)."""
    out = []
    for line in block.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        a, b = (x.strip() for x in line.split("="))
        out.append((a, b))
    return out


# Word lists shared by the reading-comprehension (icl_boolq) and entailment (icl_entail) templates.
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
COLORS = ["red", "blue", "green", "yellow", "white", "black", "grey", "orange"]


def generated_splits(
    rng: random.Random,
    make: Callable[[random.Random, int, int, list[str]], dict],
    key: Callable[[dict], str],
    n_train: int = GEN_TRAIN,
    n_val: int = GEN_VAL,
    names: tuple[list[str], list[str]] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Draw docs with ``make(rng, i, label_slot, names)`` until each split is full, rejecting any doc whose
    ``key`` (the text the model sees) was already produced in either split."""
    seen: set[str] = set()
    out = []
    for split_i, n in enumerate((n_train, n_val)):
        docs: list[dict] = []
        tries = 0
        while len(docs) < n:
            tries += 1
            if tries > 200 * n:
                raise RuntimeError("could not generate enough unique docs")
            doc = make(rng, len(docs), len(docs) % 2, names[split_i] if names else [])
            k = key(doc)
            if k in seen:
                continue
            seen.add(k)
            docs.append(doc)
        rng.shuffle(docs)
        out.append(docs)
    return out[0], out[1]
