"""``icl_lastword``: last-word prediction, the out-of-distribution LAMBADA stand-in (loglikelihood).

Docs: ``{"context": str, "answer": str (one word), "text": context + " " + answer}``.  The final
word (a name, object, place or food) always appears earlier in the passage.
"""

from __future__ import annotations

from .common import TaskSpec, generated_splits, person, task_rng, words

PETS = words("Max Bella Rex Daisy Buddy Luna Charlie Rocky Coco Milo Ginger Oscar")
CONTAINERS = ["drawer", "basket", "bowl", "jar", "box", "cupboard", "bag", "pocket"]
INSTRUMENTS = ["piano", "violin", "guitar", "flute", "drums", "trumpet", "cello", "harp"]
FLOWER_PL = ["roses", "tulips", "daisies", "sunflowers", "lilies", "poppies"]
THINGS = ["hat", "bicycle", "lamp", "jacket", "umbrella", "watch", "backpack", "camera", "kite", "scarf"]
WILD = ["snake", "spider", "wolf", "bee", "bear", "goose", "rat", "crab"]
BREAKFAST = ["porridge", "cereal", "soup", "rice", "oatmeal", "yogurt", "noodles"]
HOMETOWNS = ["Paris", "London", "Berlin", "Madrid", "Rome", "Vienna", "Dublin", "Lisbon", "Oslo", "Prague"]


def _lastword_passage(rng, i):
    a = person(rng)
    b = person(rng, avoid=(a["N"],))
    A, B, p, pp = a["N"], b["N"], a["p"], a["pp"]
    k = i % 12
    if k == 0:
        c = rng.choice(CONTAINERS)
        return (
            f"{A} always keeps {pp} keys in the {c} by the door. Before leaving for work, {p} took the keys "
            f"out of the",
            c,
        )
    if k == 1:
        return (
            f"{A} and {B} went to the park with a ball. {B} kicked the ball very high, and it was caught by",
            A,
        )
    if k == 2:
        x, y = rng.sample(["dog", "cat", "fox", "goat", "horse", "rabbit", "squirrel", "duck"], 2)
        return (
            f"The {x} chased the {y} around the farm all morning. At last the {y} hid in the barn, safe "
            f"from the",
            x,
        )
    if k == 3:
        f = rng.choice(BREAKFAST)
        return (
            f"{A} loves {f} more than any other food. Every morning, {p} sits at the table and eats a "
            f"big bowl of",
            f,
        )
    if k == 4:
        t = rng.choice(HOMETOWNS)
        return (
            f"{A} was born in {t} and has lived there all {pp} life. {p.capitalize()} says there is no "
            f"city more beautiful than",
            t,
        )
    if k == 5:
        return (
            f"{A} wrote a long letter to {pp} friend {B}. A week later, the letter finally arrived, and "
            f"it was read by",
            B,
        )
    if k == 6:
        ins = rng.choice(INSTRUMENTS)
        return (
            f"{A} has played the {ins} since {p} was six. Every evening after dinner, {p} practices the",
            ins,
        )
    if k == 7:
        fl = rng.choice(FLOWER_PL)
        return (
            f"In the spring, {A} planted {fl} along the fence. By summer, the whole garden was full of "
            f"bright",
            fl,
        )
    if k == 8:
        d = rng.choice(PETS)
        return f"{A} has a little dog named {d}. Every morning before school, {A} goes for a walk with", d
    if k == 9:
        th = rng.choice(THINGS)
        return (
            f"{A} saved money for months to buy a new {th}. When {p} finally bought it, {p} was very "
            f"proud of {pp} new",
            th,
        )
    if k == 10:
        w = rng.choice(WILD)
        return (
            f"{A} has always been afraid of every kind of {w}. When {p} saw one in the garden, {p} "
            f"screamed and ran away from the",
            w,
        )
    return (
        f"{A} and {B} played three games of chess. {A} lost every game, so the winner of all three games was",
        B,
    )


def gen_lastword() -> TaskSpec:
    """The last-word task: ``GEN_TRAIN`` / ``GEN_VAL`` passages cycling over 12 passage templates."""
    name = "icl_lastword"
    rng = task_rng(name)

    def make(rng, i, slot, _names):
        ctx, word = _lastword_passage(rng, i)
        return {"context": ctx, "answer": word, "text": f"{ctx} {word}"}

    tr, va = generated_splits(rng, make, key=lambda d: d["context"])
    return TaskSpec(
        name=name,
        kind="last-word prediction (greedy match of the final word)",
        mirrors="LAMBADA (OOD)",
        doc_to_text="{{context}}",
        train=tr,
        validation=va,
        chance=0.0,
        ood=True,
        output_type="loglikelihood",
        doc_to_choice=None,
        doc_to_target="{{' ' + answer}}",
        target_delimiter="",
    )
