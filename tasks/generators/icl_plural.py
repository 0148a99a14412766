"""``icl_plural``: singular -> plural (lexical mapping, morphology; 4 choices).

Docs: ``{"singular": str, "choices": [4 forms], "label": int}``.  The distractors are wrong
inflections of the same noun, so the model must use the ``Plural:`` mapping, not copy from a pool.
"""

from __future__ import annotations

from .common import TaskSpec, lexical_task

# singular:plural, grouped by inflection pattern (the group is used to stratify the split).
PLURALS = {
    "s": """cat:cats dog:dogs book:books car:cars tree:trees house:houses apple:apples bird:birds
        chair:chairs table:tables door:doors window:windows cup:cups hat:hats shoe:shoes sock:socks
        ring:rings star:stars hand:hands eye:eyes ear:ears nose:noses cake:cakes bike:bikes boat:boats
        bottle:bottles flower:flowers garden:gardens river:rivers mountain:mountains road:roads
        bridge:bridges school:schools teacher:teachers student:students doctor:doctors farmer:farmers
        girl:girls friend:friends pencil:pencils pen:pens desk:desks lamp:lamps clock:clocks
        phone:phones computer:computers bag:bags ball:balls coat:coats shirt:shirts egg:eggs bed:beds
        horse:horses cow:cows pig:pigs duck:ducks frog:frogs snake:snakes lion:lions tiger:tigers
        bear:bears rabbit:rabbits cookie:cookies ship:ships train:trains plane:planes king:kings
        queen:queens room:rooms wall:walls floor:floors garage:garages lake:lakes island:islands
        cloud:clouds song:songs game:games idea:ideas letter:letters word:words name:names card:cards
        map:maps coin:coins key:keys bell:bells drum:drums tent:tents rock:rocks hill:hills
        field:fields farm:farms orange:oranges banana:bananas carrot:carrots onion:onions
        picture:pictures shop:shops street:streets village:villages town:towns button:buttons
        candle:candles blanket:blankets pillow:pillows plate:plates spoon:spoons jacket:jackets
        pocket:pockets ticket:tickets basket:baskets bucket:buckets kitten:kittens dragon:dragons
        robot:robots rocket:rockets castle:castles helmet:helmets glove:gloves carpet:carpets
        mirror:mirrors camel:camels parrot:parrots spider:spiders bee:bees ant:ants pirate:pirates
        nurse:nurses pilot:pilots tower:towers planet:planets ocean:oceans forest:forests""",
    "es": """box:boxes church:churches dish:dishes glass:glasses fox:foxes watch:watches
        brush:brushes dress:dresses kiss:kisses bench:benches lunch:lunches beach:beaches match:matches
        peach:peaches sandwich:sandwiches wish:wishes class:classes guess:guesses tax:taxes
        witch:witches bush:bushes address:addresses inch:inches branch:branches torch:torches
        coach:coaches princess:princesses boss:bosses patch:patches""",
    "ies": """baby:babies city:cities party:parties story:stories lady:ladies cherry:cherries
        country:countries family:families puppy:puppies berry:berries fly:flies spy:spies
        penny:pennies army:armies body:bodies hobby:hobbies library:libraries strawberry:strawberries
        butterfly:butterflies daisy:daisies pony:ponies fairy:fairies jelly:jellies diary:diaries
        enemy:enemies""",
    "ys": """boy:boys toy:toys day:days monkey:monkeys donkey:donkeys valley:valleys turkey:turkeys
        tray:trays chimney:chimneys holiday:holidays""",
    "ves": """leaf:leaves knife:knives wife:wives wolf:wolves life:lives half:halves shelf:shelves
        loaf:loaves calf:calves thief:thieves elf:elves""",
    "o": """potato:potatoes tomato:tomatoes hero:heroes echo:echoes piano:pianos
        photo:photos radio:radios zoo:zoos kangaroo:kangaroos video:videos""",
    "irregular": """man:men woman:women child:children mouse:mice goose:geese tooth:teeth foot:feet
        ox:oxen""",
    "same": """sheep:sheep deer:deer moose:moose aircraft:aircraft""",
    "latin": """crisis:crises analysis:analyses thesis:theses phenomenon:phenomena
        criterion:criteria nucleus:nuclei""",
}


def _plural_forms(sing: str, plur: str) -> list[str]:
    """Wrong-but-plausible inflections of ``sing`` (the model must pick the real plural among them)."""
    c = [sing, sing + "s", sing + "es", sing + "en", plur + "s"]
    if sing.endswith("y"):
        c.append(sing[:-1] + "ies")
    if sing.endswith("f"):
        c.append(sing[:-1] + "ves")
    if sing.endswith("fe"):
        c.append(sing[:-2] + "ves")
    if sing.endswith(("s", "x", "ch", "sh")):
        c.append(sing + "ses")
    return [x for x in dict.fromkeys(c) if x != plur]


def gen_plural() -> TaskSpec:
    """The plural task: one doc per noun in ``PLURALS``, split stratified by inflection group."""
    pairs, group = [], {}
    for g, block in PLURALS.items():
        for tok in block.split():
            s, p = tok.split(":")
            if s in group:
                raise ValueError(f"duplicate noun {s}")
            group[s] = g
            pairs.append((s, p))

    def distract(rng, cue, gold):
        forms = _plural_forms(cue, gold)
        if cue == gold:  # unchanged plural: offer wrong regular forms only
            forms = [f for f in forms if f != cue]
        return rng.sample(forms, 3)

    return lexical_task(
        "icl_plural",
        pairs,
        "Singular: {{singular}}\nPlural:",
        "singular",
        "lexical mapping (morphology: plural)",
        distract,
        strata=lambda p: group[p[0]],
    )
