"""``icl_category``: word -> category (lexical mapping, hypernym; 4 choices).

Docs: ``{"word": str, "choices": [4 categories], "label": int}`` over 22 mutually exclusive
categories; words are split disjointly, stratified by category.
"""

from __future__ import annotations

from .common import TaskSpec, lexical_task, pick_distractors

CATEGORIES = {
    "animal": "dog cat horse cow lion tiger elephant rabbit sheep monkey bear wolf giraffe zebra",
    "fruit": "apple banana grape pear peach cherry mango lemon plum strawberry pineapple watermelon",
    "vegetable": "carrot potato onion cabbage lettuce spinach broccoli cucumber celery turnip radish",
    "color": "red blue green yellow purple pink brown black white grey",
    "body part": "arm leg hand foot head nose ear eye finger knee elbow shoulder toe chin",
    "vehicle": "car bus truck bicycle train airplane motorcycle taxi van tractor scooter helicopter",
    "furniture": "chair table sofa bed desk shelf cupboard wardrobe stool bench dresser armchair",
    "clothing": "shirt dress coat jacket skirt sweater sock hat scarf glove trousers jeans",
    "musical instrument": "piano guitar violin drum flute trumpet harp cello saxophone clarinet banjo trombone",
    "sport": "football tennis golf basketball baseball hockey rugby volleyball boxing skiing badminton",
    "tool": "hammer saw screwdriver wrench drill shovel axe pliers chisel rake",
    "drink": "coffee tea milk juice water lemonade soda cocoa wine beer",
    "weather": "rain snow wind fog hail storm thunder drizzle frost sunshine",
    "job": "teacher doctor nurse farmer pilot baker lawyer dentist plumber chef firefighter carpenter engineer",
    "country": "France Japan Brazil Canada Egypt India Mexico Italy Spain Kenya Norway Peru Germany",
    "metal": "iron copper zinc nickel aluminum platinum titanium",
    "flower": "rose tulip daisy lily orchid sunflower daffodil poppy carnation marigold",
    "shape": "circle square triangle rectangle oval hexagon pentagon",
    "number": "five nine eleven twenty hundred thirty fifteen eight forty sixty thousand seven",
    "month": "January February March April June July August September October November December",
    "feeling": "joy anger fear sadness surprise disgust pride jealousy grief shame",
    "building": "house castle church school hospital tower barn palace cottage temple museum library factory",
}


def gen_category() -> TaskSpec:
    """The hypernym task: one doc per word in ``CATEGORIES``."""
    pairs = [(w, cat) for cat, ws in CATEGORIES.items() for w in ws.split()]
    cats = list(CATEGORIES)
    return lexical_task(
        "icl_category",
        pairs,
        "Word: {{word}}\nCategory:",
        "word",
        "lexical mapping (hypernym)",
        lambda rng, cue, gold: pick_distractors(rng, cats, [gold], 3),
        strata=lambda p: p[1],
    )
