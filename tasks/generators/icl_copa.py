"""``icl_copa``: cause-effect commonsense, COPA-like (2 alternatives).

Docs: ``{"premise": str, "question": "cause" | "effect", "choices": [2 sentences], "label": int}``;
the premise ends in ``because`` (cause) or ``, so`` (effect).  Events are split between train and
validation; the wrong alternative comes from an unrelated event in the same split.
"""

from __future__ import annotations

from .common import VAL_CAP, TaskSpec, balance_binary, fill, halve, mc, person, task_rng

# tag | premise | cause | effect.  {N} name, {p} he/she, {pp} his/her, {o} him/her.
# Distractor alternatives come from other events with a different tag (a tag groups events whose causes or
# effects could plausibly be swapped, e.g. everything about rain, wet clothes and cold weather).
COPA_EVENTS = """
wetcold | {N} was shivering | it was freezing outside | {p} put on a warm coat
hot | {N} was sweating heavily | it was a very hot day | {p} drank a large glass of water
hunger | {N}'s stomach was growling | {p} had skipped lunch | {p} made a sandwich
tired | {N} yawned all afternoon | {p} had slept badly the night before | {p} went to bed early
wetcold | {N}'s clothes were soaking wet | {p} had walked home in the rain | {p} changed into dry clothes
sick | {N} stayed home from work | {p} had a high fever | {p} missed an important meeting
happy | {N} smiled from ear to ear | {p} had just won a prize | {p} hugged everyone in the room
late | {N} missed the bus | {p} woke up late | {p} had to walk to work
dark | {N} turned on the lamp | the room had grown dark | {p} could read {pp} book again
glass | {N} dropped {pp} glass | {pp} hands were slippery | the glass shattered on the floor
keys | {N} could not open the front door | {p} had lost {pp} keys | {p} called a locksmith
garden | {N}'s plant wilted | {p} forgot to water it for weeks | {p} gave it some water
noise | {N} covered {pp} ears | the music was painfully loud | {p} could not hear what {pp} friend said
happy | {N} received many presents | it was {pp} birthday | {p} wrote thank-you notes to {pp} friends
happy | {N} passed the difficult exam | {p} had studied every evening | {pp} parents took {o} out to dinner
fail | {N} failed the math test | {p} had not studied at all | {p} promised to study harder
machine | {N}'s car would not start | the battery was dead | {p} took a taxi to the office
machine | {N}'s phone turned off | the battery had run out | {p} plugged it into the charger
hot | {N} got a painful sunburn | {p} spent all day on the beach without sunscreen | {p} put cream on {pp} red skin
puncture | {N}'s bicycle tire went flat | {p} rode over a sharp nail | {p} pushed the bicycle home
melt | {N}'s ice cream melted | {p} left it in the sun | it dripped onto {pp} shoes
wetcold | {N} built a snowman | it had snowed all night | {pp} fingers became numb
hot | {N} was very thirsty | {p} had eaten a bag of salty chips | {p} drank a whole bottle of water
pet | {N}'s dog barked loudly | a stranger knocked on the door | {N} woke up
baby | {N}'s baby started crying | the baby was hungry | {N} warmed a bottle of milk
spoil | {N}'s milk smelled sour | it had been left out of the fridge | {p} poured it down the sink
injury | {N} burned {pp} hand | {p} touched the hot stove | {p} held {pp} hand under cold water
dark | {N}'s house lost all its lights | a storm knocked down the power lines | {p} lit some candles
ticket | {N} could not get a ticket for the concert | the band was extremely popular | {p} watched the show online instead
slip | {N} slipped on the floor | the floor had just been mopped | {p} hurt {pp} knee
spoil | {N}'s bread was hard and stale | it had been left out for a week | {p} fed it to the ducks
voice | {N} lost {pp} voice | {p} had been shouting at a football game | {p} could only whisper
lost | {N} got lost in the city | {p} had no map | {p} asked a police officer for directions
melt | {N}'s ice cubes melted | the freezer was broken | {p} called a repairman
machine | {N}'s computer froze | too many programs were open | {p} restarted it
wetcold | {N}'s glasses fogged up | {p} walked into a warm room from the cold | {p} wiped them with {pp} sleeve
pet | {N}'s cat hissed | a strange dog came into the yard | the dog ran away
late | {N} had to take a detour | the bridge was closed for repairs | {p} arrived home late
tired | {N} was out of breath | {p} had run up ten flights of stairs | {p} sat down to rest
smoke | {N}'s kitchen smelled of smoke | the toast had burned | {p} opened the windows
tired | {N} could not sleep | {p} drank strong coffee late at night | {p} was exhausted the next morning
sticky | {N}'s hands were sticky | {p} had been eating honey | {p} washed them with soap
puncture | {N}'s little boat sank | it had a hole in the bottom | {p} swam back to shore
happy | {N}'s teacher praised {o} | {p} gave the right answer | {p} felt proud
sorry | {N} apologized to {pp} sister | {p} had broken her favourite toy | they became friends again
puncture | {N}'s balloon popped | it touched a sharp thorn | {p} jumped at the loud bang
injury | {N} wore a bandage on {pp} finger | {p} had cut it while chopping vegetables | {p} could not play the piano that week
shop | {N} could not buy bread | the bakery had closed early | {p} made toast from old bread instead
smoke | {N}'s fire alarm went off | someone had burned popcorn in the microwave | everyone left the building
happy | {N} saved a lot of money | {p} stopped eating at restaurants | {p} bought a new bicycle
wetcold | {N}'s socks got wet in the morning | the grass was covered in dew | {p} changed {pp} socks at school
machine | {N}'s printer stopped working | it had run out of ink | {p} bought a new cartridge
feet | {N}'s feet hurt | {p} had worn new shoes all day | {p} soaked them in warm water
happy | {N} cheered loudly | {pp} team scored a goal | {pp} throat was sore the next day
late | {N} was late for dinner | the traffic was terrible | the food had gone cold
pet | {N}'s puppy chewed a shoe | it was bored and alone | {N} bought it a chew toy
hot | {N} cut {pp} long hair short | the summer was very hot | {pp} friends did not recognize {o}
dark | {N}'s candle went out | a gust of wind blew through the window | the room went dark
wetcold | {N}'s old house was cold inside | the heating was broken | {p} wore a sweater indoors
hunger | {N} ate a whole pizza | {p} had not eaten since breakfast | {p} felt too full to move
job | {N} moved to a new city | {p} got a job there | {p} had to make new friends
tooth | {N} had a toothache | {p} ate too much candy | {p} went to the dentist
team | {N}'s team lost the game | their best player was injured | the fans went home disappointed
wetcold | {N}'s street was flooded | it had rained for three days | {p} stayed at home
smoke | {N}'s cake was burnt | {p} left it in the oven too long | {p} threw it away
wetcold | {N} went skating on the lake | the lake had frozen over | {p} fell on the ice
late | {N} waited a long time to pay | there was a big sale at the store | {p} was late getting home
sick | {N} sneezed again and again | {p} was allergic to the cat | {p} went outside for fresh air
sick | {N} had a headache | {p} had been staring at a screen all day | {p} took some medicine
garden | {N}'s garden was full of weeds | nobody had taken care of it | {p} spent the weekend pulling them out
library | {N} paid a fine at the library | {p} returned the book late | {p} decided to return books on time
fear | {N} screamed | {p} saw a huge spider | {pp} friends came running
laundry | {N}'s white shirt turned pink | {p} washed it with a red sock | {p} had to buy a new shirt
wetcold | {N}'s shoes were covered in mud | {p} had walked through a wet field | {p} left them outside the door
happy | {N} got a raise at work | {p} had worked very hard all year | {p} took {pp} family on a holiday
happy | {N} laughed so hard {p} cried | {pp} friend told a very funny joke | {pp} stomach hurt from laughing
wetcold | {N} opened {pp} umbrella | it started to rain | {p} stayed dry
machine | {N}'s car stopped on the highway | it had run out of fuel | {p} walked to the nearest gas station
glass | {N}'s window shattered | a baseball flew through it | {p} swept up the broken glass
flower | {N}'s garden was full of blossoms | spring had arrived | bees came to visit the flowers
fear | {N}'s hands shook before the speech | {p} was nervous about speaking in public | {p} took a deep breath
"""


def gen_copa() -> TaskSpec:
    """The COPA-like task: per event, 2 people x (cause, effect) = 4 docs; labels exactly balanced."""
    name = "icl_copa"
    rng = task_rng(name)
    events = [tuple(x.strip() for x in line.split("|")) for line in COPA_EVENTS.strip().splitlines()]
    for ev in events:
        if "{N}" not in ev[1]:
            raise ValueError(f"premise without a name: {ev}")
    tr, va = halve(rng, events)

    def docs_for(part, names_per_event=2):
        docs = []
        for ev in part:
            tag, premise, cause, effect = ev
            others = [e for e in part if e[0] != tag]
            used = ()
            for _ in range(names_per_event):
                for qtype in ("cause", "effect"):
                    who = person(rng, avoid=used)
                    used = (*used, who["N"])
                    alt = rng.choice(others)
                    good, bad = (cause, alt[2]) if qtype == "cause" else (effect, alt[3])
                    prem = fill(premise, who)
                    prem = prem[0].upper() + prem[1:]
                    text = f"{prem} because" if qtype == "cause" else f"{prem}, so"
                    docs.append(
                        {
                            "premise": text,
                            "question": qtype,
                            **mc(rng, fill(good, who) + ".", [fill(bad, who) + "."]),
                        }
                    )
        balance_binary(docs)
        rng.shuffle(docs)
        return docs

    return TaskSpec(
        name=name,
        kind="cause-effect commonsense (2 alternatives)",
        mirrors="COPA",
        doc_to_text="{{premise}}",
        train=docs_for(tr),
        validation=docs_for(va)[:VAL_CAP],
        chance=0.5,
    )
