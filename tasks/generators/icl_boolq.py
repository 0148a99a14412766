"""``icl_boolq``: reading comprehension over invented entities, BoolQ/MultiRC-like (2 options).

Docs: ``{"passage": str, "question": str, "choices": [2 values], "label": int}``.  Template-generated;
the invented entity names are disjoint between train and validation.
"""

from __future__ import annotations

import random

from .common import COLORS, TaskSpec, generated_splits, task_rng, words

NAME_ONSETS = words(
    "Bel Cor Dra Fen Gal Hol Kar Lun Mor Nel Pra Quin Ros Sel Tor Val Wen Yar Zan Bro Cal Dun Eld Fal Grim Har Ist Jor Kel Lor Mar Nor Orn Pel Ril Sar Tam Ulm Vor Wil"
)
NAME_CODAS = words("mar dale wick ford ton holm stead ora ith vale moor bury ica en ara ley")


def invented_names(rng: random.Random) -> tuple[list[str], list[str]]:
    onsets = list(NAME_ONSETS)
    rng.shuffle(onsets)
    half = len(onsets) // 2
    make = lambda ons: [o + c for o in ons for c in NAME_CODAS]  # noqa: E731
    return make(onsets[:half]), make(onsets[half:])


# Two-entity reading comprehension.  Each passage states one fact about each of two invented entities with the
# same relation ("Quinwick lies near a mountain. Sarara lies near a castle."); the question asks for one entity's
# value, and the two options are that value and a distractor of the same type.  In about half of the docs the
# distractor is the *other* entity's value (both options occur in the passage: the model must bind value to
# entity, as in MultiRC's passage-drawn distractors); in the rest it is a value the passage never mentions.
# The options are never listed in the prompt.  Measured on SmolLM2-135M while designing this: the earlier yes/no
# version ("Does Karara have a zoo?") was at chance at every shot (it answered "no" to everything); so was
# listing both options in the question ("Does the quindale eat seeds or fish?"), since both can then be copied
# from the question; and so are the binding docs on their own (the model mostly picks the value stated last).
RC_RELATIONS: list[tuple[list[str], str, str, bool]] = [
    # (values, fact, question, entity written in lower case); {e} = entity, {v} = value
    (
        words("river lake forest mountain beach castle waterfall"),
        "{e} lies near a {v}.",
        "What does {e} lie near?",
        False,
    ),
    (
        words("baker nurse pilot teacher farmer painter doctor sailor carpenter singer cook miner"),
        "{e} works as a {v}.",
        "What does {e} work as?",
        False,
    ),
    (COLORS, "The boat {e} is painted {v}.", "What color is the boat {e} painted?", False),
    (
        words("bread shoes hats books toys flowers lamps fish cheese candles bicycles maps"),
        "The {e} shop sells {v}.",
        "What does the {e} shop sell?",
        False,
    ),
    (
        words("seeds ants berries leaves worms moss snails"),
        "The {e} eats {v}.",
        "What does the {e} eat?",
        True,
    ),
    (
        words("piano violin guitar flute drums trumpet cello harp"),
        "{e} plays the {v}.",
        "What does {e} play?",
        False,
    ),
    (
        words("desert jungle swamp mountains caves grasslands"),
        "The {e} lives in the {v}.",
        "Where does the {e} live?",
        True,
    ),
    (
        words("tea coffee milk juice water cocoa lemonade"),
        "{e} drinks {v} every morning.",
        "What does {e} drink every morning?",
        False,
    ),
]


def gen_boolq() -> TaskSpec:
    """The reading-comprehension task: ``GEN_TRAIN`` / ``GEN_VAL`` docs cycling over ``RC_RELATIONS``."""
    name = "icl_boolq"
    rng = task_rng(name)
    n_rel = len(RC_RELATIONS)

    def make(rng, i, slot, names):
        values, fact, question, lower = RC_RELATIONS[i % n_rel]
        ents = rng.sample(names, 2)
        if lower:
            ents = [e.lower() for e in ents]
        vals = rng.sample(values, 3)  # vals[2] is never mentioned in the passage
        passage = " ".join(
            fact.replace("{e}", e).replace("{v}", v) for e, v in zip(ents, vals[:2], strict=True)
        )
        asked = (i // (2 * n_rel)) % 2  # ask about the first or the second entity
        gold = vals[asked]
        in_passage = (i // n_rel) % 2 == 1  # about half: distractor from the passage
        dis = vals[1 - asked] if in_passage else vals[2]
        choices = [dis, gold] if slot else [gold, dis]  # slot alternates -> labels exactly balanced
        return {
            "passage": passage,
            "question": question.replace("{e}", ents[asked]),
            "choices": choices,
            "label": choices.index(gold),
        }

    tr, va = generated_splits(
        rng, make, key=lambda d: d["passage"] + "\n" + d["question"], names=invented_names(rng)
    )
    return TaskSpec(
        name=name,
        kind="reading comprehension, 2 options (invented entities)",
        mirrors="BoolQ, MultiRC",
        doc_to_text="{{passage}}\nQuestion: {{question}}\nAnswer:",
        train=tr,
        validation=va,
        chance=0.5,
    )
