"""``icl_arith``: arithmetic on small quantities, the OOD MathQA stand-in (4 numeric options).

Docs: ``{"question": str, "choices": [4 one-digit numbers], "label": int}``.  Template-generated;
operands and answers lie in 2-9.
"""

from __future__ import annotations

from .common import TaskSpec, generated_splits, mc, task_rng, words

ARITH_ITEMS = words(
    "apples marbles stickers pencils cookies stamps shells cards coins flowers balloons books"
)
# (template, sign).  Narrative problems ("Tom has 3 apples and gets 4 more. How many apples does Tom have now?")
# left SmolLM2-135M at or near chance at 0 and 5 shots even with single-digit numbers; with the operation named
# between its two quantities the model is clearly above chance from one shot on.
ARITH_TEMPLATES = [
    ("What is {a} {item} plus {b} {item}?", 1),
    ("How many {item} are {a} {item} plus {b} {item}?", 1),
    ("What is {a} {item} minus {b} {item}?", -1),
    ("How many {item} are {a} {item} minus {b} {item}?", -1),
]
ARITH_LO, ARITH_HI = 2, 9  # operands and answers; every option is one digit, so one token


def _arith_problem(rng, i):
    template, sign = ARITH_TEMPLATES[i % len(ARITH_TEMPLATES)]
    item = rng.choice(ARITH_ITEMS)
    while True:
        a, b = rng.randint(ARITH_LO, ARITH_HI), rng.randint(ARITH_LO, ARITH_HI)
        if ARITH_LO <= a + sign * b <= ARITH_HI:
            return template.format(a=a, b=b, item=item), a + sign * b


def gen_arith() -> TaskSpec:
    """The arithmetic task: ``GEN_TRAIN`` / ``GEN_VAL`` docs cycling over ``ARITH_TEMPLATES``."""
    name = "icl_arith"
    rng = task_rng(name)

    def make(rng, i, slot, _names):
        q, ans = _arith_problem(rng, i)
        # 3 near misses: other digits within 3 of the answer (an operand can be one).  Drawn uniformly from
        # the whole 2-9 range instead, "largest option for plus, smallest for minus" alone would score ~0.5.
        near = range(max(ARITH_LO, ans - 3), min(ARITH_HI, ans + 3) + 1)
        pool = [str(n) for n in near if n != ans]
        return {"question": q, **mc(rng, str(ans), rng.sample(pool, 3))}

    tr, va = generated_splits(rng, make, key=lambda d: d["question"])
    return TaskSpec(
        name=name,
        kind="arithmetic on small quantities (4 numeric options)",
        mirrors="MathQA (OOD)",
        doc_to_text="Question: {{question}}\nAnswer:",
        train=tr,
        validation=va,
        chance=0.25,
        ood=True,
    )
