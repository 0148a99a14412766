"""``icl_entail``: textual entailment, RTE/CB-like: the word that completes the conclusion (2 options).

Docs: ``{"premise": str, "conclusion": str (a stem), "choices": [2 words], "label": int}``.
Template-generated premise / conclusion pairs; templates are shared by the splits, prompts never.
"""

from __future__ import annotations

from .common import COLORS, DAYS, TaskSpec, generated_splits, person, task_rng, words

ITEMS_PL = words("apples oranges pencils books candles plates eggs lemons notebooks cups towels potatoes")
PLACES = [
    "market",
    "bakery",
    "library",
    "station",
    "museum",
    "harbor",
    "park",
    "hospital",
    "school",
    "post office",
]
JOBS = ["nurse", "pilot", "teacher", "farmer", "painter", "lawyer", "baker", "dentist", "chef", "plumber"]
CITY_NAMES = words("Paris Madrid Tokyo Cairo Lima Oslo Dublin Rome Vienna Boston Sydney Toronto")
EVENTS = ["concert", "football match", "picnic", "parade", "wedding party", "school trip", "market day"]
WEATHER = ["heavy rain", "a snowstorm", "strong winds", "a flood", "thick fog"]
ANIMALS = ["cat", "dog", "rabbit", "puppy", "kitten", "goat"]
FURNITURE = ["table", "bed", "sofa", "bench", "desk"]
OBJECTS = ["car", "umbrella", "bicycle", "scarf", "door", "kite", "lamp", "jacket"]
FOODS = ["meat", "fish", "cheese", "eggs", "sugar", "bread", "rice"]
NUMS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


ROOMS = ["garage", "hall", "garden", "yard", "shed", "kitchen", "attic", "cellar"]
GIFTS = ["book", "watch", "scarf", "kite", "lamp", "puzzle", "bicycle"]

# Entailment as a choice between two conclusions.  Each template returns a premise and a list of
# (conclusion stem, word that makes the conclusion follow from the premise, word that makes it not follow).
# The prompt ends with the stem; the two options are the completing words, so the answer is a content word
# (a name, place, job, food...) rather than True/False.  Measured on SmolLM2-135M while designing this: the
# earlier "<hypothesis> True or False?" version sat at chance at every shot (the model's prior over the two
# label words swamped the premise).  In the "order" templates (older, arrive, taller, gift, never) both options
# occur in the premise, so picking the right one takes the inference and not just copying.


def _two(rng):
    a = person(rng)
    b = person(rng, avoid=(a["N"],))
    return a, b


def _ent_buy(rng):
    a = person(rng)
    n = rng.randint(2, 8)
    item, item2 = rng.sample(ITEMS_PL, 2)
    place, place2 = rng.sample(PLACES, 2)
    day = rng.choice(DAYS)
    prem = f"{a['N']} bought {NUMS[n]} {item} at the {place} on {day}."
    return prem, [(f"on {day}, {a['N']} went to the", place, place2), (f"{a['N']} now has some", item, item2)]


def _ent_older(rng):
    a = person(rng)
    b = person(rng, avoid=(a["N"],))
    c = person(rng, avoid=(a["N"], b["N"]))
    A, B, C = a["N"], b["N"], c["N"]
    prem = f"{A} is older than {B}, and {B} is older than {C}."
    return prem, [("the oldest of the three is", A, C), ("the youngest of the three is", C, A)]


def _ent_job(rng):
    a = person(rng)
    city, city2 = rng.sample(CITY_NAMES, 2)
    job, job2 = rng.sample(JOBS, 2)
    prem = f"{a['N']} lives in {city} and works as a {job}."
    return prem, [(f"{a['N']} is a", job, job2), (f"{a['N']}'s home is in", city, city2)]


def _ent_color(rng):
    obj = rng.choice(OBJECTS)
    room, room2 = rng.sample(ROOMS, 2)
    c, c2 = rng.sample(COLORS, 2)
    a = person(rng)
    prem = f"{a['N']}'s {obj} is {c}, and it is kept in the {room}."
    return prem, [(f"the {obj} in the {room} is", c, c2), (f"the {c} {obj} is kept in the", room, room2)]


def _ent_never(rng):
    a = person(rng)
    food, food2 = rng.sample(FOODS, 2)
    prem = f"{a['N']} never eats {food}, but {a['p']} eats {food2} every day."
    return prem, [(f"{a['N']} does not eat", food, food2), (f"every day {a['N']} eats", food2, food)]


def _ent_gift(rng):
    a, b = _two(rng)
    gift = rng.choice(GIFTS)
    prem = f"{a['N']} gave {b['N']} a {gift} for {b['pp']} birthday."
    return prem, [
        (f"the {gift} now belongs to", b["N"], a["N"]),
        ("the one who had a birthday is", b["N"], a["N"]),
    ]


def _ent_cancel(rng):
    ev, ev2 = rng.sample(EVENTS, 2)
    w = rng.choice(WEATHER)
    day = rng.choice(DAYS)
    prem = f"The {ev} on {day} was cancelled because of {w}."
    return prem, [(f"on {day} there was no", ev, ev2)]


def _ent_arrive(rng):
    a, b = _two(rng)
    place = rng.choice(PLACES)
    prem = f"{a['N']} arrived at the {place} before {b['N']}."
    return prem, [("the first to arrive was", a["N"], b["N"]), ("the last to arrive was", b["N"], a["N"])]


def _ent_sleep(rng):
    a = person(rng)
    animal, animal2 = rng.sample(ANIMALS, 2)
    furn, furn2 = rng.sample(FURNITURE, 2)
    prem = f"{a['N']}'s {animal} was sleeping quietly under the {furn}."
    return prem, [(f"{a['N']} owns a", animal, animal2), (f"the {animal} was under the", furn, furn2)]


def _ent_taller(rng):
    a, b = _two(rng)
    prem = f"{a['N']} is taller than {b['N']}, but {b['N']} runs faster than {a['N']}."
    return prem, [
        ("the shorter of the two is", b["N"], a["N"]),
        ("the faster runner is", b["N"], a["N"]),
        ("the taller of the two is", a["N"], b["N"]),
        ("the slower runner is", a["N"], b["N"]),
    ]


def _ent_all(rng):
    item = rng.choice(["cups", "boxes", "chairs", "pens", "balloons", "towels"])
    c, c2 = rng.sample(COLORS, 2)
    place = rng.choice(["kitchen", "classroom", "office", "shop window", "basket"])
    prem = f"All of the {item} in the {place} are {c}."
    return prem, [(f"every one of the {item} in the {place} is", c, c2)]


ENTAIL_TEMPLATES = [
    _ent_buy,
    _ent_older,
    _ent_job,
    _ent_color,
    _ent_never,
    _ent_gift,
    _ent_cancel,
    _ent_arrive,
    _ent_sleep,
    _ent_taller,
    _ent_all,
]


def gen_entail() -> TaskSpec:
    """The entailment task: ``GEN_TRAIN`` / ``GEN_VAL`` docs cycling over ``ENTAIL_TEMPLATES``."""
    name = "icl_entail"
    rng = task_rng(name)
    n_t = len(ENTAIL_TEMPLATES)

    def make(rng, i, slot, _names):
        prem, conclusions = ENTAIL_TEMPLATES[i % n_t](rng)
        stem, gold, dis = rng.choice(conclusions)
        choices = [dis, gold] if slot else [gold, dis]  # slot alternates -> labels exactly balanced
        stem = stem[0].upper() + stem[1:]
        return {"premise": prem, "conclusion": stem, "choices": choices, "label": choices.index(gold)}

    tr, va = generated_splits(rng, make, key=lambda d: d["premise"] + "\n" + d["conclusion"])
    return TaskSpec(
        name=name,
        kind="textual entailment: the conclusion that follows (2 options)",
        mirrors="RTE, CB",
        doc_to_text="{{premise}}\nQuestion: What follows?\nAnswer: {{conclusion}}",
        train=tr,
        validation=va,
        chance=0.5,
    )
