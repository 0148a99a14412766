"""``icl_pronoun``: pronoun resolution in Winogrande/WSC-like twin sentences: person or object.

Docs: ``{"sentence": str, "pronoun": str, "choices": [person, object], "label": int}``.  Schemas
are split between train and validation.
"""

from __future__ import annotations

from .common import VAL_CAP, TaskSpec, balance_binary, check_unique, halve, person, task_rng

# Twin-sentence schemas with a person {A} and an object {O}: a pronoun ('_' in the schema) stands for one of
# them, and the predicate {x} decides which.  Columns: sentence | predicate that makes the pronoun the person |
# predicate that makes it the object | four objects the schema is instantiated with.  Each predicate suits one
# referent only (selectional restrictions: a person is hungry or late, food is rotten or hot), and the pronoun
# agrees with it ('he'/'she' for the person, 'it' for the object), as a WSC pronoun does.  Measured on
# SmolLM2-135M while designing this (60 validation docs, 0/1/5 shots): the earlier person-vs-person and
# object-vs-object blank schemas ("Amy waited for Chloe because _ was late") sat at chance at every shot, and
# so did these schemas with a blank '_' in place of the pronoun (0.48/0.53/0.43); with the pronoun the model
# learns the agreement from the demonstrations (0.58/0.68/0.83).
WINO_SCHEMAS = """
{A} could not eat the {O} because _ {x}. | was already full | was too hot | soup; stew; porridge; pie
{A} put on the {O} because _ {x}. | was freezing | was warm and dry | coat; sweater; jacket; scarf
{A} threw away the {O} because _ {x}. | was not hungry | was rotten | apple; bread; cheese; banana
{A} could not read the {O} because _ {x}. | was too tired | was written in tiny letters | letter; sign; note; map
{A} returned the {O} to the shop because _ {x}. | did not like it | was broken | lamp; radio; kettle; toaster
{A} could not lift the {O} because _ {x}. | was too weak | was too heavy | box; suitcase; table; rock
{A} sold the {O} because _ {x}. | needed money | was too old | car; bicycle; piano; boat
{A} washed the {O} because _ {x}. | liked things clean | was covered in mud | shirt; towel; blanket; rug
{A} could not open the {O} because _ {x}. | had lost the key | was locked | door; gate; drawer; chest
{A} dropped the {O} because _ {x}. | was clumsy | was slippery | glass; plate; bottle; bowl
{A} fixed the {O} because _ {x}. | was good with tools | was broken | chair; clock; fence; bicycle
{A} bought the {O} because _ {x}. | had saved enough money | was on sale | hat; lamp; rug; vase
{A} could not hear the {O} because _ {x}. | was half asleep | was too quiet | radio; music; bell; speech
{A} hid the {O} because _ {x}. | was afraid of thieves | was very valuable | watch; necklace; ring; coin
{A} watered the {O} because _ {x}. | was a careful gardener | was dry | plant; lawn; tree; flower
{A} ate the {O} because _ {x}. | was hungry | was delicious | cake; pie; apple; sandwich
{A} turned off the {O} because _ {x}. | was going to bed | was too loud | radio; television; alarm; music
{A} charged the {O} because _ {x}. | was leaving on a trip | was out of power | phone; laptop; camera; torch
{A} could not drink the {O} because _ {x}. | was feeling sick | was boiling hot | tea; coffee; cocoa; milk
{A} painted the {O} because _ {x}. | was bored | was peeling | fence; door; wall; shed
{A} could not find the {O} because _ {x}. | was not wearing glasses | was very small | key; coin; button; ring
{A} sharpened the {O} because _ {x}. | wanted to draw | was blunt | pencil; knife; axe; saw
{A} cleaned the {O} because _ {x}. | was expecting guests | was dusty | shelf; window; table; floor
{A} laughed at the {O} because _ {x}. | was in a good mood | was funny | joke; cartoon; movie; story
{A} closed the {O} because _ {x}. | was feeling cold | was banging in the wind | window; door; gate; shutter
{A} missed the {O} because _ {x}. | was late | left early | train; bus; ferry; flight
{A} could not wear the {O} because _ {x}. | had grown too tall | had shrunk in the wash | sweater; shirt; dress; skirt
{A} kept the {O} because _ {x}. | loved it | was still useful | bicycle; radio; lamp; chair
{A} could not afford the {O} because _ {x}. | was poor | was too expensive | car; house; watch; boat
"""


def _parse_wino() -> list[tuple[str, str, str, list[str]]]:
    schemas = []
    for line in WINO_SCHEMAS.strip().splitlines():
        sent, x_person, x_object, objects = (x.strip() for x in line.split("|"))
        schemas.append((sent, x_person, x_object, [o.strip() for o in objects.split(";")]))
    check_unique([s[0] for s in schemas], "pronoun schema")
    return schemas


def gen_pronoun() -> TaskSpec:
    """The pronoun task: per schema and object, a twin pair of docs (answer person / object)."""
    name = "icl_pronoun"
    rng = task_rng(name)
    tr, va = halve(rng, _parse_wino())  # schemas split between train and validation

    def docs_for(part):
        docs = []
        for sent, x_person, x_object, objects in part:
            for obj in objects:
                who = person(rng)
                name = who["N"]
                for x, ans, pron in (
                    (x_person, name, who["p"]),
                    (x_object, obj, "it"),
                ):  # twins flip the answer
                    text = sent.replace("{A}", name).replace("{O}", obj).replace("{x}", x).replace("_", pron)
                    docs.append(
                        {
                            "sentence": text,
                            "pronoun": pron,
                            "choices": [name, obj],
                            "label": [name, obj].index(ans),
                        }
                    )
        rng.shuffle(docs)
        return balance_binary(docs)

    return TaskSpec(
        name=name,
        kind="pronoun resolution: person or object (2 options)",
        mirrors="Winogrande, WSC, ReCoRD",
        doc_to_text="{{sentence}}\nQuestion: Who or what does '{{pronoun}}' refer to?\nAnswer:",
        train=docs_for(tr),
        validation=docs_for(va)[:VAL_CAP],
        chance=0.5,
    )
