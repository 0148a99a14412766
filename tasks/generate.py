#!/usr/bin/env python3
"""Deterministic generator for the iclprune in-context-learning task suite.

Every fact, word list, template and sentence in this file was written for the iclprune project
(no text is copied from any existing benchmark).  Running it writes

    tasks/data/<task>/train.jsonl
    tasks/data/<task>/validation.jsonl
    tasks/<task>.yaml                (an EleutherAI lm-eval 0.4.x task config)

for the 16 tasks registered in ``TASKS``.  Output is byte-identical on every run: each task draws from
its own ``random.Random`` seeded with a fixed string, and nothing iterates over a set or dict whose order
could vary.  Standard library only.

Usage::

    python tasks/generate.py            # (re)write all files next to this script
    python tasks/generate.py --check    # regenerate into a temp dir; exit 1 if anything differs
    python tasks/generate.py --out DIR  # write somewhere else
    python tasks/generate.py --table    # print the task table used in tasks/README.md
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SEED = "iclprune-task-suite-v1"
TASK_DIR = Path(__file__).resolve().parent
VAL_CAP = 200  # validation docs per task, at most (CPU eval time)
GEN_TRAIN = 200  # docs per split for the open-ended (template-generated) tasks
GEN_VAL = 150


# ----------------------------------------------------------------------------------------------------------
# Infrastructure
# ----------------------------------------------------------------------------------------------------------


@dataclass
class TaskSpec:
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
    return s.split()


def task_rng(name: str) -> random.Random:
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
    female = rng.random() < 0.5
    pool = [n for n in (NAMES_F if female else NAMES_M) if n not in avoid]
    name = rng.choice(pool)
    if female:
        return {"N": name, "p": "she", "P": "She", "pp": "her", "o": "her"}
    return {"N": name, "p": "he", "P": "He", "pp": "his", "o": "him"}


def fill(template: str, who: dict) -> str:
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


# ----------------------------------------------------------------------------------------------------------
# Lexical mappings (cues split disjointly between train and validation)
# ----------------------------------------------------------------------------------------------------------

CITIES = """
United States: New York, Los Angeles, Chicago, Houston, Boston, Seattle, San Francisco, Miami, Las Vegas, Denver, Philadelphia, Atlanta, Dallas, Detroit, New Orleans, Phoenix, San Diego, Austin
Canada: Toronto, Montreal, Vancouver, Ottawa, Calgary, Winnipeg, Edmonton
Mexico: Guadalajara, Cancun, Monterrey, Tijuana, Acapulco
Brazil: Rio de Janeiro, Sao Paulo, Brasilia, Recife, Manaus
Argentina: Buenos Aires, Mendoza, Rosario
Chile: Santiago, Valparaiso
Peru: Lima, Cusco
Colombia: Bogota, Medellin, Cali
Venezuela: Caracas
Cuba: Havana
England: London, Manchester, Liverpool, Oxford, Bristol, Leeds
Scotland: Edinburgh, Glasgow, Aberdeen
Wales: Cardiff
Ireland: Dublin, Cork, Galway
France: Paris, Marseille, Lyon, Nice, Bordeaux, Toulouse, Strasbourg, Lille, Nantes, Cannes
Germany: Berlin, Munich, Hamburg, Frankfurt, Cologne, Stuttgart, Dresden, Leipzig, Dusseldorf, Bonn
Italy: Rome, Milan, Venice, Florence, Naples, Turin, Bologna, Pisa, Verona, Genoa, Palermo
Spain: Madrid, Barcelona, Seville, Malaga, Bilbao, Granada, Zaragoza
Portugal: Lisbon, Porto
Netherlands: Amsterdam, Rotterdam, The Hague, Utrecht
Belgium: Brussels, Antwerp, Bruges, Ghent
Switzerland: Zurich, Geneva, Bern, Basel
Austria: Vienna, Salzburg, Innsbruck
Greece: Athens, Thessaloniki
Turkey: Istanbul, Ankara, Izmir
Russia: Moscow, Saint Petersburg, Novosibirsk, Vladivostok
Poland: Warsaw, Krakow, Gdansk
Czech Republic: Prague, Brno
Hungary: Budapest
Romania: Bucharest
Bulgaria: Sofia
Serbia: Belgrade
Croatia: Zagreb, Dubrovnik
Ukraine: Kyiv, Odessa
Sweden: Stockholm, Gothenburg
Norway: Oslo, Bergen
Denmark: Copenhagen
Finland: Helsinki
Iceland: Reykjavik
Egypt: Cairo, Alexandria, Luxor
Morocco: Casablanca, Marrakech, Rabat
Kenya: Nairobi, Mombasa
Nigeria: Lagos, Abuja
South Africa: Johannesburg, Cape Town, Durban
Ethiopia: Addis Ababa
Ghana: Accra
Algeria: Algiers
Senegal: Dakar
Japan: Tokyo, Osaka, Kyoto, Hiroshima, Nagoya, Sapporo, Yokohama, Kobe
China: Beijing, Shanghai, Guangzhou, Shenzhen, Wuhan, Chengdu, Nanjing
South Korea: Seoul, Busan
North Korea: Pyongyang
India: Mumbai, Delhi, Bangalore, Kolkata, Chennai, Jaipur, Agra
Pakistan: Karachi, Lahore, Islamabad
Bangladesh: Dhaka
Nepal: Kathmandu
Sri Lanka: Colombo
Thailand: Bangkok, Phuket, Chiang Mai
Vietnam: Hanoi, Ho Chi Minh City, Da Nang
Indonesia: Jakarta, Surabaya
Philippines: Manila, Cebu
Malaysia: Kuala Lumpur
Iran: Tehran, Isfahan
Iraq: Baghdad, Basra
Saudi Arabia: Riyadh, Mecca, Jeddah
Israel: Tel Aviv, Haifa
Lebanon: Beirut
Syria: Damascus, Aleppo
Jordan: Amman
United Arab Emirates: Dubai, Abu Dhabi
Qatar: Doha
Afghanistan: Kabul
Australia: Sydney, Melbourne, Brisbane, Perth, Adelaide, Canberra
New Zealand: Auckland, Wellington, Christchurch
"""


def gen_city_country() -> TaskSpec:
    pairs, countries = [], []
    for line in CITIES.strip().splitlines():
        country, cities = line.split(":")
        countries.append(country.strip())
        pairs += [(c.strip(), country.strip()) for c in cities.split(",")]
    # Close neighbours/overlapping names are never offered as distractors for each other.
    confusable = [{"England", "Scotland", "Wales", "Ireland"}, {"North Korea", "South Korea"}]

    def distract(rng, cue, gold):
        bad = [gold]
        for grp in confusable:
            if gold in grp:
                bad += sorted(grp)
        return pick_distractors(rng, countries, bad, 3)

    return lexical_task(
        "icl_city_country",
        pairs,
        "City: {{city}}\nCountry:",
        "city",
        "lexical mapping (world knowledge)",
        distract,
        strata=lambda p: p[1],
    )


# (cue, answer, cluster): distractors never come from the same semantic cluster, so that no distractor is
# also a reasonable opposite of the cue (e.g. "up" is never offered "below").
ANTONYMS = """
hot cold temp | big small size | tall short height | fast slow speed | happy sad mood | up down vert
open closed open | light dark light | early late time | young old age | rich poor money | hard soft hard
wet dry wet | full empty full | strong weak strength | clean dirty clean | thick thin thick
loud quiet sound | inside outside inout | left right side | true false truth | win lose win
buy sell exchange | push pull push | give take exchange | love hate love | day night time
black white color | good bad good | high low vert | above below vert | before after time | first last order
always never freq | everything nothing amount | alive dead life | safe dangerous safe | cheap expensive money
easy difficult hard | friend enemy friend | question answer qa | north south compass | east west compass
summer winter season | beginning end order | asleep awake sleep | arrive leave arrive | remember forget mem
laugh cry laugh | accept refuse accept | add subtract math | enter exit inout | increase decrease amount
maximum minimum amount | ancient modern age | sweet sour taste | wide narrow size | deep shallow depth
smooth rough texture | sharp blunt sharp | tight loose tight | brave cowardly brave | polite rude polite
kind cruel kind | success failure win | import export exchange | public private public | male female gender
king queen gender | boy girl gender | brother sister gender | son daughter gender | floor ceiling vert
sunrise sunset time | positive negative truth | major minor size | inner outer inout | front back side
top bottom vert | near far dist | here there dist | come go arrive | send receive exchange
lend borrow exchange | teach learn teach | attack defend attack | build destroy build | catch throw catch
float sink float | sit stand pose | whisper shout sound | agree disagree agree | appear disappear appear
like dislike love | lock unlock open | include exclude inout | inhale exhale inout | more less amount
many few amount | all none amount | most least amount | present absent time | future past time
rise fall vert | forward backward side | wild tame wild | fresh stale fresh | wise foolish wise
generous selfish kind | guilty innocent guilt | profit loss win | odd even odd | vertical horizontal vert
dawn dusk time | noon midnight time | war peace war | joy sorrow mood | pride shame pride
hero villain hero | winner loser win | employer employee job | often rarely freq | clever stupid wise
beautiful ugly beauty | healthy sick health | visible invisible appear | possible impossible possible
legal illegal legal | same different same | simple complex simple | common rare freq
natural artificial natural | temporary permanent time | arrival departure arrive | plus minus math
yes no truth | on off open | over under vert | bright dim light | single married married
melt freeze temp | save spend money | pass fail win | allow forbid allow | admit deny truth
hide show appear | mountain valley vert | master servant job | expand shrink size
"""


def gen_antonyms() -> TaskSpec:
    pairs3 = []
    for chunk in ANTONYMS.replace("\n", "|").split("|"):
        if chunk.strip():
            a, b, cl = chunk.split()
            pairs3.append((a, b, cl))
    words = [w for a, b, _ in pairs3 for w in (a, b)]
    check_unique(words, "antonym word")
    cluster = {w: cl for a, b, cl in pairs3 for w in (a, b)}
    rng = task_rng("icl_antonyms")
    tr, va = halve(rng, pairs3, strata=None)  # split by PAIR: both directions stay in one split

    def docs_for(part):
        docs = []
        for a, b, _cl in part:
            for cue, gold in ((a, b), (b, a)):
                pool = [w for w in words if cluster[w] != cluster[cue]]
                docs.append({"word": cue, **mc(rng, gold, pick_distractors(rng, pool, [cue, gold], 3))})
        rng.shuffle(docs)
        return docs

    return TaskSpec(
        name="icl_antonyms",
        kind="lexical mapping (antonym)",
        mirrors="none (lexical mapping)",
        doc_to_text="Word: {{word}}\nOpposite:",
        train=docs_for(tr),
        validation=docs_for(va)[:VAL_CAP],
        chance=0.25,
    )


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


# base:past ; '+' marks verbs that double their final consonant before -ing/-ed.
PASTS = {
    "ed": """walk:walked jump:jumped play:played talk:talked help:helped cook:cooked clean:cleaned
        open:opened paint:painted call:called wash:washed watch:watched climb:climbed kick:kicked
        look:looked rain:rained start:started visit:visited want:wanted work:worked answer:answered
        ask:asked follow:followed listen:listened pull:pulled push:pushed turn:turned learn:learned
        fix:fixed kiss:kissed enjoy:enjoyed stay:stayed laugh:laughed shout:shouted wait:waited
        point:pointed rest:rested fill:filled count:counted touch:touched pick:picked melt:melted
        pack:packed lift:lifted borrow:borrowed cover:covered deliver:delivered explain:explained
        finish:finished gather:gathered land:landed mark:marked miss:missed offer:offered order:ordered
        print:printed remember:remembered repair:repaired return:returned search:searched thank:thanked
        yell:yelled plant:planted sail:sailed pour:poured boil:boiled""",
    "d": """dance:danced smile:smiled bake:baked like:liked move:moved live:lived close:closed
        love:loved hope:hoped use:used change:changed arrive:arrived decide:decided dive:dived
        smoke:smoked share:shared save:saved invite:invited agree:agreed wave:waved race:raced
        score:scored taste:tasted chase:chased breathe:breathed carve:carved hate:hated joke:joked
        rescue:rescued serve:served skate:skated sneeze:sneezed solve:solved trade:traded""",
    "double": """stop:stopped+ plan:planned+ drop:dropped+ shop:shopped+ hug:hugged+ clap:clapped+
        skip:skipped+ hop:hopped+ rob:robbed+ nod:nodded+ beg:begged+ chat:chatted+ grab:grabbed+
        rub:rubbed+ jog:jogged+ trip:tripped+ wrap:wrapped+ step:stepped+ slip:slipped+""",
    "ied": """cry:cried try:tried carry:carried study:studied marry:married worry:worried
        hurry:hurried copy:copied reply:replied bury:buried fry:fried apply:applied dry:dried
        empty:emptied tidy:tidied""",
    "irregular": """go:went eat:ate see:saw take:took give:gave come:came run:ran+ swim:swam+
        sing:sang drink:drank write:wrote drive:drove ride:rode speak:spoke break:broke choose:chose
        freeze:froze steal:stole wake:woke get:got+ forget:forgot+ begin:began+ ring:rang sink:sank
        buy:bought bring:brought think:thought fight:fought teach:taught catch:caught sell:sold
        tell:told find:found build:built send:sent spend:spent lend:lent bend:bent feel:felt
        keep:kept sleep:slept sweep:swept leave:left meet:met feed:fed hold:held stand:stood
        understand:understood know:knew grow:grew throw:threw blow:blew fly:flew draw:drew fall:fell
        hide:hid bite:bit shake:shook make:made say:said pay:paid have:had hear:heard win:won+
        sit:sat+ dig:dug+ swing:swung stick:stuck strike:struck lose:lost shoot:shot wear:wore
        tear:tore swear:swore become:became spin:spun+ sting:stung do:did forgive:forgave bleed:bled
        flee:fled slide:slid mean:meant deal:dealt creep:crept grind:ground rise:rose""",
    "same": """cut:cut+ put:put+ hit:hit+ shut:shut+ cost:cost hurt:hurt let:let+ set:set+
        spread:spread burst:burst""",
}


def _ing(base: str, double: bool) -> str:
    if double:
        return base + base[-1] + "ing"
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")):
        return base[:-1] + "ing"
    return base + "ing"


def _third(base: str) -> str:
    if base == "have":
        return "has"
    if base.endswith(("s", "x", "z", "ch", "sh", "o")):
        return base + "es"
    if base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ies"
    return base + "s"


def _regular_past(base: str, double: bool) -> str:
    if double:
        return base + base[-1] + "ed"
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ied"
    return base + "ed"


def gen_past() -> TaskSpec:
    pairs, group, doubles = [], {}, {}
    for g, block in PASTS.items():
        for tok in block.split():
            dbl = tok.endswith("+")
            b, p = tok.rstrip("+").split(":")
            if b in group:
                raise ValueError(f"duplicate verb {b}")
            group[b], doubles[b] = g, dbl
            pairs.append((b, p))

    def distract(rng, cue, gold):
        forms = [cue, _third(cue), _ing(cue, doubles[cue]), _regular_past(cue, doubles[cue]), gold + "ed"]
        forms = [f for f in dict.fromkeys(forms) if f != gold]
        return rng.sample(forms, 3)

    return lexical_task(
        "icl_past_tense",
        pairs,
        "Present: {{verb}}\nPast:",
        "verb",
        "lexical mapping (morphology: past tense)",
        distract,
        strata=lambda p: group[p[0]],
    )


# English = French (common single words; no word appears twice on either side).
FRENCH = """
one = un
two = deux
three = trois
four = quatre
five = cinq
seven = sept
eight = huit
ten = dix
twelve = douze
twenty = vingt
hundred = cent
thousand = mille
red = rouge
blue = bleu
green = vert
yellow = jaune
black = noir
white = blanc
grey = gris
Monday = lundi
Tuesday = mardi
Wednesday = mercredi
Thursday = jeudi
Friday = vendredi
Saturday = samedi
Sunday = dimanche
January = janvier
February = février
April = avril
June = juin
July = juillet
August = août
September = septembre
October = octobre
November = novembre
December = décembre
mother = mère
father = père
brother = frère
sister = sœur
son = fils
daughter = fille
uncle = oncle
aunt = tante
man = homme
woman = femme
child = enfant
baby = bébé
friend = ami
boy = garçon
head = tête
hand = main
foot = pied
eye = œil
mouth = bouche
nose = nez
ear = oreille
arm = bras
leg = jambe
heart = cœur
tooth = dent
back = dos
knee = genou
finger = doigt
neck = cou
skin = peau
blood = sang
face = visage
shoulder = épaule
dog = chien
cat = chat
horse = cheval
cow = vache
pig = cochon
bird = oiseau
fish = poisson
mouse = souris
rabbit = lapin
sheep = mouton
chicken = poulet
duck = canard
bear = ours
wolf = loup
fox = renard
frog = grenouille
snake = serpent
monkey = singe
butterfly = papillon
bee = abeille
goat = chèvre
turtle = tortue
spider = araignée
whale = baleine
donkey = âne
ant = fourmi
bread = pain
water = eau
milk = lait
cheese = fromage
apple = pomme
egg = œuf
meat = viande
butter = beurre
sugar = sucre
salt = sel
wine = vin
beer = bière
coffee = café
tea = thé
rice = riz
soup = soupe
cake = gâteau
vegetable = légume
strawberry = fraise
cherry = cerise
lemon = citron
pear = poire
carrot = carotte
onion = oignon
garlic = ail
honey = miel
pepper = poivre
chocolate = chocolat
juice = jus
house = maison
door = porte
window = fenêtre
chair = chaise
bed = lit
kitchen = cuisine
bedroom = chambre
wall = mur
roof = toit
key = clé
lamp = lampe
mirror = miroir
book = livre
pen = stylo
paper = papier
letter = lettre
box = boîte
bottle = bouteille
glass = verre
cup = tasse
plate = assiette
knife = couteau
fork = fourchette
spoon = cuillère
clock = horloge
garden = jardin
school = école
church = église
hospital = hôpital
shop = magasin
bank = banque
street = rue
city = ville
country = pays
road = route
bridge = pont
car = voiture
boat = bateau
plane = avion
bicycle = vélo
ticket = billet
sun = soleil
moon = lune
star = étoile
sky = ciel
sea = mer
river = rivière
mountain = montagne
tree = arbre
flower = fleur
grass = herbe
rain = pluie
snow = neige
wind = vent
cloud = nuage
fire = feu
earth = terre
stone = pierre
sand = sable
forest = forêt
island = île
lake = lac
beach = plage
leaf = feuille
winter = hiver
summer = été
spring = printemps
autumn = automne
night = nuit
day = jour
morning = matin
evening = soir
week = semaine
year = année
hour = heure
tomorrow = demain
yesterday = hier
big = grand
small = petit
good = bon
bad = mauvais
hot = chaud
cold = froid
beautiful = beau
old = vieux
young = jeune
happy = heureux
sad = triste
short = court
high = haut
low = bas
easy = facile
difficult = difficile
fast = rapide
slow = lent
strong = fort
weak = faible
rich = riche
poor = pauvre
full = plein
empty = vide
clean = propre
dirty = sale
heavy = lourd
expensive = cher
tired = fatigué
true = vrai
first = premier
last = dernier
to eat = manger
to drink = boire
to sleep = dormir
to speak = parler
to read = lire
to write = écrire
to run = courir
to walk = marcher
to sing = chanter
to dance = danser
to swim = nager
to see = voir
to know = savoir
to want = vouloir
to give = donner
to take = prendre
to open = ouvrir
to close = fermer
to buy = acheter
to sell = vendre
to come = venir
to go = aller
to play = jouer
to work = travailler
to love = aimer
to find = trouver
to think = penser
to wait = attendre
to help = aider
to learn = apprendre
to understand = comprendre
to forget = oublier
to begin = commencer
to finish = finir
to laugh = rire
to cry = pleurer
to live = vivre
to die = mourir
to look = regarder
to listen = écouter
to search = chercher
to wash = laver
to arrive = arriver
to jump = sauter
to fall = tomber
to build = construire
to pay = payer
to call = appeler
to ask = demander
to answer = répondre
to travel = voyager
to choose = choisir
to win = gagner
to lose = perdre
yes = oui
no = non
thank you = merci
hello = bonjour
goodbye = au revoir
gold = or
iron = fer
word = mot
name = nom
song = chanson
music = musique
game = jeu
gift = cadeau
war = guerre
peace = paix
life = vie
death = mort
world = monde
king = roi
queen = reine
doctor = médecin
teacher = professeur
soldier = soldat
hat = chapeau
shoe = chaussure
shirt = chemise
dress = robe
coat = manteau
bag = sac
left = gauche
here = ici
always = toujours
never = jamais
often = souvent
now = maintenant
very = très
with = avec
without = sans
"""


def gen_french() -> TaskSpec:
    pairs = parse_pairs(FRENCH)
    check_unique([f for _, f in pairs], "French word")
    verbs = [f for e, f in pairs if e.startswith("to ")]
    nonverbs = [f for e, f in pairs if not e.startswith("to ")]

    def distract(rng, cue, gold):
        # infinitives compete with infinitives, other words with other words (no free "-er" cue)
        pool = verbs if cue.startswith("to ") else nonverbs
        return pick_distractors(rng, pool, [gold], 3)

    return lexical_task(
        "icl_french",
        pairs,
        "English: {{english}}\nFrench:",
        "english",
        "lexical mapping (translation)",
        distract,
        strata=lambda p: p[0].startswith("to "),
    )


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


# ----------------------------------------------------------------------------------------------------------
# Commonsense / reasoning tasks (hand-written scenarios; scenario lists split between train and validation)
# ----------------------------------------------------------------------------------------------------------

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


# group -> tool: goal; goal; ...   Distractor tools always come from a different group.
PHYSICAL = {
    "cutting": """
        scissors: cut a sheet of paper in half; cut out a picture from a magazine; trim a loose thread from a sleeve; cut a coupon out of the newspaper
        a knife: slice a loaf of bread; chop an onion for soup; cut a steak into pieces
        a saw: cut a wooden plank in two; cut a dead branch off a tree; cut a log into firewood
        a lawn mower: cut the grass in the back yard; keep the lawn short in summer
        a razor: shave off a beard; shave your legs
        nail clippers: trim your fingernails
        a pizza cutter: divide a pizza into slices
        a peeler: remove the skin from a potato; peel a cucumber
        a grater: shred a block of cheese; grate carrots for a salad
        an axe: chop firewood for the stove; split a thick log
        a hedge trimmer: trim the hedge along the garden path""",
    "fastening": """
        a hammer: drive a nail into a wooden board; knock a tent peg into the ground
        a screwdriver: tighten a loose screw; take the screws out of a cabinet door
        a needle and thread: sew a button back onto a shirt; mend a small hole in a sock
        tape: seal a cardboard box; stick a poster to the wall
        glue: stick a broken handle back onto a mug; attach feathers to a paper mask
        a stapler: fasten sheets of paper together
        a rope: tie a boat to the dock; tow a broken car a short distance
        a wrench: loosen a rusty bolt; tighten a nut on a bicycle wheel
        a drill: make a hole in the wall for a shelf
        a bike lock: lock a bicycle to a post
        a paper clip: hold a few pages together without staples
        clothespins: hang wet laundry on a line
        a sewing machine: sew a long seam on a curtain
        a belt: keep your trousers from falling down
        a safety pin: pin a name tag to your shirt
        a clamp: hold two boards together while the glue dries
        string: tie up a bundle of old newspapers
        tweezers: pull out a splinter""",
    "cleaning": """
        a broom: sweep dust off the kitchen floor; sweep sand out of the hallway
        a mop: clean up spilled water on the floor
        a sponge: wipe crumbs off the table; scrub a dirty frying pan
        a vacuum cleaner: clean the carpet in the living room; remove dog hair from the sofa
        a toothbrush: clean your teeth before bed
        soap: wash dirt off your hands
        a towel: dry yourself after a shower; dry the wet dishes
        a washing machine: wash a pile of dirty clothes
        a comb: untangle your hair; part your hair neatly
        a hair dryer: dry your hair quickly
        an iron: remove wrinkles from a shirt
        a plunger: unblock a clogged toilet
        a dishwasher: clean a stack of dirty plates
        a tissue: blow your nose
        a rake: gather fallen leaves into a pile
        a duster: remove dust from a bookshelf
        a scrub brush: scrub mud off your boots
        a lint roller: remove cat hair from a black jacket
        shampoo: wash your greasy hair
        a squeegee: wipe water off a window
        a toilet brush: clean the inside of the toilet bowl
        a trash can: throw away empty packaging""",
    "kitchen": """
        an oven: bake a loaf of bread; roast a chicken for dinner
        a kettle: boil water for tea
        a frying pan: fry an egg; cook pancakes
        a toaster: make toast for breakfast
        a refrigerator: keep milk cold; keep leftovers fresh overnight
        a freezer: make ice cubes; store ice cream for a month
        a microwave: warm up leftover soup quickly; make popcorn in three minutes
        a whisk: beat eggs for an omelette; whip cream for a cake
        a can opener: open a can of beans
        a bottle opener: remove the cap from a bottle of soda
        a ladle: serve soup from a pot
        a blender: make a fruit smoothie
        a spoon: stir sugar into your coffee; eat a bowl of soup
        a fork: eat a plate of spaghetti
        a straw: sip juice from a glass
        a sieve: drain the water from boiled pasta
        a rolling pin: flatten dough for cookies
        a funnel: pour oil into a narrow bottle
        a thermos: keep coffee hot on a long trip
        a teapot: serve tea to your guests
        a cutting board: protect the counter while chopping vegetables
        a pot: boil potatoes for dinner
        a corkscrew: open a bottle of wine
        a coffee maker: brew a pot of coffee
        a lemon squeezer: get the juice out of a lemon
        an egg timer: boil an egg for exactly four minutes
        a nutcracker: crack open a walnut
        a cooler: keep drinks cold at a picnic
        a garlic press: crush a clove of garlic""",
    "writing": """
        a pencil: write a shopping list; sketch a drawing of a cat
        an eraser: remove a pencil mistake from your homework
        a paintbrush: paint a wooden fence; paint a picture on canvas
        a highlighter: mark important lines in a textbook
        chalk: write on a blackboard; draw a hopscotch game on the sidewalk
        an envelope: mail a letter to a friend
        a notebook: take notes during a lecture
        crayons: color in a picture in a coloring book
        a marker: write a sign in thick letters
        a pencil sharpener: give a blunt pencil a new point
        a typewriter: type a letter without a computer""",
    "measuring": """
        a thermometer: check whether you have a fever; measure the temperature outside
        a scale: weigh a bag of flour; find out how heavy you are
        a tape measure: measure the width of a doorway; measure how tall a child has grown
        a ruler: draw a straight line on paper
        a clock: tell what time it is
        a compass: find which direction is north
        a stopwatch: time how long a race takes
        a measuring cup: measure half a liter of milk for a recipe
        a speedometer: check how fast the car is going
        a rain gauge: measure how much rain fell overnight
        a measuring spoon: add exactly one teaspoon of salt
        a watch: check the time while walking
        a spirit level: check that a shelf is perfectly flat
        an alarm clock: wake up at six in the morning""",
    "seeing": """
        a flashlight: see in a dark basement; look under the bed during a power cut
        a candle: give soft light at a dinner table
        a lamp: read in bed at night
        a magnifying glass: read very small print; look closely at an insect
        binoculars: watch birds that are far away
        a telescope: look at the craters of the moon; study the planets at night
        a mirror: check your hair before going out; look at your own face
        a microscope: look at tiny cells in a drop of water
        a headlamp: keep your hands free while walking in a dark cave
        a night light: comfort a child who is afraid of the dark
        glasses: see clearly if you are short-sighted
        a periscope: see over a tall wall while hiding
        matches: light a campfire""",
    "outdoors": """
        a shovel: dig a hole to plant a tree; clear snow from the driveway
        a watering can: water the flowers on the balcony
        a wheelbarrow: move a load of bricks across the yard
        a hose: wash mud off the car; fill a paddling pool with water
        a ladder: clean the gutters on the roof; pick apples from the top of a tree
        a fishing rod: catch a fish in the lake
        a net: catch a butterfly
        a sled: slide down a snowy hill
        a kite: play with the wind at the beach
        a boat: cross a wide lake
        a bucket: carry water from the well
        a hoe: remove weeds between rows of vegetables
        a sprinkler: water a large lawn
        a fence: keep the goats inside the field
        a bird feeder: attract birds to your garden
        a hammock: relax between two trees
        skis: travel quickly down a snowy mountain
        a surfboard: ride the waves at the beach
        a snorkel: breathe while looking at fish underwater
        a canoe: paddle down a quiet river""",
    "carrying": """
        a backpack: carry books to school
        a suitcase: pack clothes for a trip
        a basket: collect eggs from the henhouse
        a wallet: keep your money and cards together
        a shopping cart: carry groceries around the supermarket
        a vase: display a bunch of fresh flowers
        a hanger: hang a coat in the closet
        a leash: walk a dog safely along the road
        a tray: carry several cups of tea at once
        a piggy bank: save coins for later
        a lunch box: bring food to school
        a wagon: pull a small child around the park
        a cardboard box: pack books when you move house
        a toolbox: keep your tools in one place""",
    "protection": """
        an umbrella: stay dry in the rain
        a blanket: keep warm on the sofa
        sunscreen: protect your skin from sunburn
        a helmet: protect your head while cycling
        gloves: keep your hands warm in winter; protect your hands from thorny roses
        sunglasses: protect your eyes from bright sunlight
        a fan: cool down on a hot day
        a pillow: rest your head while you sleep
        earplugs: sleep in a noisy room
        a life jacket: stay afloat in deep water
        a bandage: cover a small cut on your knee
        a fire extinguisher: put out a small kitchen fire
        a raincoat: keep your clothes dry on a stormy walk
        an oven mitt: take a hot dish out of the oven
        a tent: sleep outdoors on a camping trip
        a sleeping bag: stay warm at night in the mountains
        a dust mask: avoid breathing dust while sanding wood
        a scarf: keep your neck warm
        boots: keep your feet dry in the snow
        insect repellent: keep mosquitoes from biting you
        a seat belt: stay safe in a car crash
        knee pads: protect your knees while skateboarding
        a smoke alarm: warn you about a fire at night
        an apron: keep your clothes clean while cooking
        a heater: warm up a cold room""",
    "devices": """
        a radio: listen to the news in the car
        a key: unlock the front door; start an old car
        a remote control: change the TV channel
        a pump: inflate a flat bicycle tire; blow up a football
        a jack: lift a car to change a tire
        a doorbell: let people inside know that you have arrived
        a battery charger: charge a dead phone battery
        a printer: make a paper copy of a document
        headphones: listen to music without disturbing others
        a camera: take a picture of the sunset; film a birthday party
        a dictionary: look up the meaning of a word; check how to spell a long word
        a cookbook: find a recipe for apple pie
        a calculator: add up a long list of numbers; work out a difficult multiplication
        a calendar: check what day of the month it is; plan the dates of your holiday
        a map: find the way to a town you have never visited
        a television: watch a football game at home
        an elevator: reach the tenth floor without climbing stairs
        a doorstop: keep a door from swinging shut
        a microphone: make your voice louder for a big crowd
        a light switch: turn on the ceiling light""",
}


def gen_physical() -> TaskSpec:
    name = "icl_physical"
    rng = task_rng(name)
    tools = []  # (group, tool, [goals])
    for group, block in PHYSICAL.items():
        for line in block.strip().splitlines():
            tool, goals = line.split(":")
            tools.append((group, tool.strip(), [g.strip() for g in goals.split(";")]))
    check_unique([t for _, t, _ in tools], "tool")
    check_unique([g for _, _, gs in tools for g in gs], "goal")
    tr, va = halve(rng, tools, strata=lambda t: t[0])  # split by tool: a tool's goals stay in one split

    def docs_for(part):
        docs = []
        for group, tool, goals in part:
            others = [t for g, t, _ in tools if g != group]
            for goal in goals:
                docs.append({"goal": goal, **mc(rng, tool, [rng.choice(others)])})
        balance_binary(docs)
        rng.shuffle(docs)
        return docs

    return TaskSpec(
        name=name,
        kind="physical commonsense: tool for a goal (2 alternatives)",
        mirrors="PIQA",
        doc_to_text="To {{goal}}, you should use",
        train=docs_for(tr),
        validation=docs_for(va)[:VAL_CAP],
        chance=0.5,
    )


SCIENCE_ANIMALS = {
    "mammal": "dog whale bat dolphin horse elephant mouse lion cow rabbit bear monkey giraffe kangaroo "
    "sheep goat pig camel",
    "bird": "eagle penguin sparrow owl parrot ostrich duck chicken pigeon crow swan robin",
    "fish": "shark salmon tuna goldfish trout cod catfish sardine",
    "reptile": "snake lizard crocodile turtle alligator iguana tortoise cobra chameleon",
    "insect": "ant bee butterfly beetle mosquito grasshopper ladybug moth dragonfly cockroach wasp",
    "amphibian": "frog toad salamander newt",
}

SCIENCE_ORGANS = """
heart = pumps blood through the body
lungs = takes in oxygen when you breathe
stomach = starts to digest food after you swallow it
brain = controls thinking and memory
kidneys = filters waste out of the blood
skin = covers and protects the outside of the body
muscles = pulls on the bones so the body can move
teeth = bites and chews food
tongue = senses the taste of food
intestines = absorbs nutrients from digested food
skeleton = gives the body its shape and support
liver = cleans harmful substances out of the blood
eyes = lets you see light and color
ears = lets you hear sounds
"""

SCIENCE_SENSES = """
sight = tells you what color a flower is
hearing = tells you that a dog is barking nearby
smell = tells you that bread is baking in the oven
taste = tells you that a lemon is sour
touch = tells you that a stone is rough
sight = lets you read the words in a book
hearing = lets you enjoy a song on the radio
smell = warns you that milk has gone bad before you drink it
taste = tells you that soup needs more salt
touch = tells you that bath water is too hot
sight = lets you see the stars at night
hearing = lets you notice thunder in the distance
smell = lets you enjoy the scent of roses
taste = tells you that a cake is sweet
touch = tells you that a cat's fur is soft
"""

SCIENCE_BABIES = """
dog = puppy
cat = kitten
cow = calf
horse = foal
sheep = lamb
duck = duckling
frog = tadpole
bear = cub
kangaroo = joey
deer = fawn
pig = piglet
goose = gosling
chicken = chick
butterfly = caterpillar
goat = kid
"""

# question | answer | distractor; distractor; distractor
SCIENCE_QA = """
What do plants need to make their own food? | sunlight | darkness; sand; plastic
Which gas do plants take in from the air to make food? | carbon dioxide | helium; neon; steam
Which gas do people need to breathe in to stay alive? | oxygen | helium; neon; smoke
What happens to water when it is heated to 100 degrees Celsius? | it boils | it freezes; it turns to stone; it becomes metal
What do we call frozen water? | ice | steam; fog; sand
What do we call the hot water vapor rising from a boiling kettle? | steam | ice; dust; snow
Which of these is a liquid at room temperature? | milk | wood; iron; stone
Which of these is a gas at room temperature? | oxygen | water; gold; salt
Which of these is a solid at room temperature? | a rock | juice; steam; air
What happens to an ice cube left in the sun? | it melts | it grows; it freezes; it burns
What force pulls objects toward the ground? | gravity | magnetism; sound; light
What force slows down a ball rolling across the grass? | friction | sunlight; sound; electricity
What does a thermometer measure? | temperature | weight; length; time
What does a bathroom scale measure? | weight | temperature; speed; loudness
Which tool helps scientists see very small things? | a microscope | a telescope; a thermometer; a ruler
Which tool helps astronomers look at distant stars? | a telescope | a microscope; a stethoscope; a scale
What is the main source of light and heat for the Earth? | the Sun | the Moon; the ocean; volcanoes
Where does rain fall from? | clouds | rocks; trees; the ground
What is it called when liquid water turns into vapor? | evaporation | condensation; freezing; melting
What is it called when water vapor turns into liquid drops? | condensation | evaporation; erosion; photosynthesis
What process do plants use to make food from sunlight? | photosynthesis | digestion; evaporation; erosion
Which part of a plant takes in water from the soil? | the roots | the flowers; the leaves; the seeds
Which part of a plant makes seeds? | the flower | the roots; the stem; the bark
Which part of a plant makes most of its food? | the leaves | the roots; the seeds; the bark
What do bees collect from flowers to make honey? | nectar | sand; milk; wool
What does a caterpillar turn into? | a butterfly | a frog; a bird; a spider
What does a tadpole grow into? | a frog | a fish; a snake; a butterfly
What do herbivores eat? | plants | meat; rocks; plastic
What do carnivores eat? | meat | grass; leaves; seeds
What do we call animals that eat both plants and meat? | omnivores | herbivores; carnivores; producers
What covers the body of a bird? | feathers | scales; fur; shells
What covers the body of a fish? | scales | feathers; fur; wool
What do fish use to breathe underwater? | gills | lungs; wings; beaks
Which animal has a long trunk? | an elephant | a giraffe; a horse; a rabbit
Which animal has the longest neck? | a giraffe | a mouse; a dog; a pig
Which is the largest ocean on Earth? | the Pacific Ocean | the Indian Ocean; the Arctic Ocean; the Southern Ocean
Which is the largest animal that has ever lived? | the blue whale | the house cat; the chicken; the rabbit
How many legs does an insect have? | six | four; eight; ten
How many legs does a spider have? | eight | six; four; two
What is the hardest natural material? | diamond | wood; chalk; wax
Which material is attracted to a magnet? | iron | wood; glass; rubber
Which material is a good conductor of electricity? | copper | rubber; wood; plastic
Which material is used to insulate electric wires? | rubber | copper; iron; silver
Which of these is a renewable energy source? | sunlight | coal; oil; natural gas
What is the center of an atom called? | the nucleus | the shell; the orbit; the crust
What is the thin outer layer of the Earth called? | the crust | the core; the mantle; the atmosphere
What is the layer of air around the Earth called? | the atmosphere | the crust; the core; the ocean
Which direction does a compass needle point to? | north | down; up; west
What flows out of an erupting volcano? | lava | snow; milk; ice
What causes a rainbow to appear? | sunlight shining through raindrops | wind blowing over hills; birds flying in circles; the Moon hiding the Sun
Which season comes after winter? | spring | summer; autumn; fall
In which season do many trees lose their leaves? | autumn | spring; summer; winter
At what temperature does water boil at sea level? | 100 degrees Celsius | 0 degrees Celsius; 20 degrees Celsius; 50 degrees Celsius
At what temperature does water freeze? | 0 degrees Celsius | 100 degrees Celsius; 50 degrees Celsius; 37 degrees Celsius
What do we call animals that are active at night? | nocturnal | aquatic; domestic; extinct
What do we call a kind of animal that no longer exists anywhere? | extinct | nocturnal; wild; tame
What is the natural home of an animal called? | its habitat | its diet; its shadow; its skeleton
What does the Moon reflect? | light from the Sun | heat from volcanoes; light from the oceans; sound from the Earth
What produces sound? | vibrations | shadows; magnets; colors
Which travels faster through the air? | light | sound; a bird; a car
Which of these gives off its own light? | a candle | a mirror; a rock; a book
What do we call a scientist who studies rocks? | a geologist | a botanist; a zoologist; an astronomer
What do we call a scientist who studies stars and planets? | an astronomer | a geologist; a botanist; a zoologist
What do we call a scientist who studies plants? | a botanist | a geologist; an astronomer; a zoologist
What do we call a scientist who studies animals? | a zoologist | a geologist; an astronomer; a botanist
What do most seeds need in order to sprout? | water | salt; oil; plastic
What part of the body protects the brain? | the skull | the ribs; the knee; the elbow
What part of the body protects the heart and lungs? | the ribs | the skull; the toes; the ankle
What do red blood cells carry around the body? | oxygen | sand; light; sound
What is the largest organ of the human body? | the skin | the heart; the nose; the ear
What do we call the path a planet follows around the Sun? | an orbit | an axis; a crater; an eclipse
What is the Earth's only natural satellite? | the Moon | the Sun; Mars; Venus
What kind of energy is stored in a battery? | chemical energy | sound energy; wind energy; tidal energy
What happens to most metals when they are heated? | they expand | they shrink; they disappear; they freeze
What mostly causes the tides in the ocean? | the pull of the Moon | the wind; fish swimming; rain falling
Which of these animals lays eggs? | a chicken | a cow; a dog; a horse
Which animal builds dams across rivers? | a beaver | a lion; a camel; a penguin
Which animal can go a long time without water in the desert? | a camel | a frog; a fish; a duck
What kind of rock forms when lava cools? | igneous rock | sedimentary rock; chalk; coal
What do you get when you mix soil and water? | mud | sand; steam; ice
What happens to a puddle on a hot sunny day? | it dries up | it freezes; it gets deeper; it turns into ice
Which planet is closest to the Sun? | Mercury | Jupiter; Saturn; Neptune
Which is the largest planet in our solar system? | Jupiter | Mercury; Mars; Venus
Which planet is known as the Red Planet? | Mars | Venus; Jupiter; Neptune
Which planet is famous for its bright rings? | Saturn | Mercury; Mars; Earth
Which planet do people live on? | Earth | Mars; Venus; Jupiter
What is the closest star to the Earth? | the Sun | Sirius; the Moon; Mars
How long does it take the Earth to travel once around the Sun? | one year | one day; one week; one hour
How long does it take the Earth to spin once on its axis? | one day | one year; one month; one minute
What do we call a group of stars that forms a pattern in the sky? | a constellation | a comet; a planet; an asteroid
Which part of a tree is hard and protects the trunk? | the bark | the petals; the fruit; the roots
What do we call the melted rock that is still underground? | magma | ice; sand; clay
What makes a shadow? | an object blocking light | a loud noise; warm air; a strong smell
What helps a fish move through the water? | fins | feathers; wings; claws
Why do many birds fly south in autumn? | to find warmer weather | to see the ocean; to lose weight; to find snow
What do we call the hard outer covering of a turtle? | a shell | a feather; a fin; a leaf
Which of these is made from trees? | paper | glass; iron; plastic
Which of these is a mixture you can separate with a sieve? | sand and pebbles | salt water; air; milk
What happens to the air in a balloon when it is heated? | it expands | it freezes; it turns to water; it disappears
Which of these is a mammal that can fly? | a bat | a penguin; an ostrich; a goldfish
Which body of water is salty? | the ocean | a rain puddle; a mountain stream; a glass of tap water
What do we call an animal that hunts other animals for food? | a predator | a producer; a plant; a fungus
Which of these is a fossil fuel? | coal | sunlight; wind; water
Which unit is used to measure length? | the meter | the kilogram; the liter; the second
Which unit is used to measure mass? | the kilogram | the meter; the liter; the degree
Where is most of the fresh water on Earth frozen? | in ice caps and glaciers | in the oceans; in clouds; in deserts
What do plants give off that animals need to breathe? | oxygen gas | carbon dioxide gas; helium gas; smoke
What is the boiling of a liquid an example of? | a change of state | a chemical explosion; a magnetic force; an eclipse
What do you call a young plant that has just sprouted from a seed? | a seedling | a fossil; a pebble; a spore
Which of these objects would float in water? | a wooden cork | an iron nail; a glass marble; a stone
What is the main job of a plant's stem? | to hold the plant up and carry water | to make seeds; to attract bees; to store pollen
What happens when a warm drink is left on the table for an hour? | it cools down | it gets hotter; it freezes solid; it boils
Which animal is covered in quills to protect itself? | a porcupine | a goldfish; a pigeon; a frog
What do we call the imaginary line around the middle of the Earth? | the equator | the horizon; the axis; the orbit
Which part of the Earth is the hottest? | the inner core | the crust; the oceans; the mountains
What is the name of the force that keeps the planets moving around the Sun? | gravity | friction; electricity; wind
"""


def gen_science() -> TaskSpec:
    name = "icl_science"
    rng = task_rng(name)
    items = []  # (bank, question, answer, distractors | None, pool)

    def art(w):
        return ("an " if w[0] in "aeiou" else "a ") + w

    classes = list(SCIENCE_ANIMALS)
    for cls, animals in SCIENCE_ANIMALS.items():
        for a in animals.split():
            items.append(("class", f"What kind of animal is {art(a)}?", cls, None, classes))
    organs = parse_pairs(SCIENCE_ORGANS)
    organ_names = [o for o, _ in organs]
    for organ, fn in organs:
        items.append(
            (
                "organ",
                f"Which part of the body {fn}?",
                f"the {organ}",
                None,
                [f"the {o}" for o in organ_names],
            )
        )
    senses = parse_pairs(SCIENCE_SENSES)
    sense_names = ["sight", "hearing", "smell", "taste", "touch"]
    for sense, what in senses:
        items.append(("sense", f"Which sense {what}?", sense, None, sense_names))
    babies = parse_pairs(SCIENCE_BABIES)
    baby_names = [b for _, b in babies]
    for adult, baby in babies:
        items.append(("baby", f"What is a young {adult} called?", baby, None, baby_names))
    for line in SCIENCE_QA.strip().splitlines():
        q, a, ds = (x.strip() for x in line.split("|"))
        items.append(("qa", q, a, [d.strip() for d in ds.split(";")], None))
    check_unique([it[1] for it in items], "science question")
    tr, va = halve(rng, items, strata=lambda it: it[0])

    def docs_for(part):
        docs = []
        for _bank, q, a, ds, pool in part:
            if ds is None:
                ds = pick_distractors(rng, pool, [a], 3)
            docs.append({"question": q, **mc(rng, a, ds)})
        return docs

    return TaskSpec(
        name=name,
        kind="science / world-fact QA (4 choices)",
        mirrors="ARC-Easy, ARC-Challenge, OpenBookQA",
        doc_to_text="Question: {{question}}\nAnswer:",
        train=docs_for(tr),
        validation=docs_for(va)[:VAL_CAP],
        chance=0.25,
    )


# ----------------------------------------------------------------------------------------------------------
# Reading comprehension over invented entities (template-generated; invented names disjoint across splits)
# ----------------------------------------------------------------------------------------------------------

NAME_ONSETS = words(
    "Bel Cor Dra Fen Gal Hol Kar Lun Mor Nel Pra Quin Ros Sel Tor Val Wen Yar Zan Bro Cal Dun Eld Fal Grim Har Ist Jor Kel Lor Mar Nor Orn Pel Ril Sar Tam Ulm Vor Wil"
)
NAME_CODAS = words("mar dale wick ford ton holm stead ora ith vale moor bury ica en ara ley")
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
COLORS = ["red", "blue", "green", "yellow", "white", "black", "grey", "orange"]


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


def gen_boolq() -> TaskSpec:
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


# ----------------------------------------------------------------------------------------------------------
# Entailment (template-generated premise/hypothesis pairs)
# ----------------------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------------------
# Word sense (WiC-like): word -> two senses, three sentences each.  Words are split between train/validation.
# ----------------------------------------------------------------------------------------------------------

WIC = """
bank
  We had a picnic on the grassy bank of the river. | The boat was tied to the muddy bank. | Fishermen lined the bank of the stream at dawn.
  She opened a savings account at the bank. | The bank gave him a loan for the house. | I need to go to the bank to deposit this check.
bat
  A bat flew out of the dark cave. | The bat hangs upside down while it sleeps. | We saw a bat hunting insects at dusk.
  He swung the bat and hit the ball. | She bought a new wooden bat for baseball. | The player dropped his bat and ran to first base.
bark
  The dog gave a loud bark at the mailman. | We heard a sharp bark from next door. | His puppy has a tiny, squeaky bark.
  The bark of the old oak was rough and gray. | Beetles live under the bark of dead trees. | She peeled a strip of bark from the birch.
light
  Turn on the light, it is getting dark. | The light from the lamp filled the room. | Plants need light to grow.
  The feather is very light. | The empty box was light and easy to lift. | This laptop is light enough to carry all day.
match
  He struck a match to light the candle. | The match burned down to his fingers. | She lit the stove with a single match.
  Our team won the match on Saturday. | The tennis match lasted three hours. | Thousands of fans watched the football match.
ring
  She wore a gold ring on her finger. | He lost his wedding ring in the garden. | The ring had a small blue stone.
  The boxers stepped into the ring. | The fighter was pushed out of the ring. | The circus horse ran around the ring.
spring
  The flowers bloom in spring. | We plan to travel in the spring. | Spring is my favorite season.
  The old mattress had a broken spring. | A metal spring inside the pen pushes the tip out. | The toy jumped when its spring was released.
seal
  A seal was resting on the rocks. | The seal dived into the cold water. | We watched a seal catch a fish.
  The seal on the jar was broken. | The letter was closed with a red wax seal. | Check the seal on the bottle before you drink.
bow
  She tied a bow in her hair. | The gift had a big red bow on top. | He tied the ribbon into a neat bow.
  The archer pulled back his bow. | He shot an arrow from his bow. | She made a bow from a bent branch and a string.
fan
  Turn on the fan, it is hot in here. | The ceiling fan spun slowly. | An electric fan cooled the room.
  He is a big fan of that band. | Every fan in the stadium cheered. | She has been a fan of the team since childhood.
mouse
  A mouse ran across the kitchen floor. | The cat caught a mouse in the barn. | The mouse nibbled the cheese.
  Click the left button of the mouse. | My computer mouse stopped working. | He moved the mouse to open the file.
trunk
  The trunk of the tree was very thick. | Ivy climbed up the trunk of the oak. | A woodpecker made a hole in the trunk.
  Put the bags in the trunk of the car. | The trunk was too full to close. | He keeps a spare tire in the trunk.
palm
  She held the coin in her palm. | He read the lines on my palm. | The ball landed in the palm of his hand.
  A tall palm grew by the beach. | Coconuts fell from the palm. | We rested in the shade of a palm.
letter
  A is the first letter of the alphabet. | The word begins with a capital letter. | Write each letter clearly.
  I received a letter from my aunt. | She mailed the letter yesterday. | He wrote a long letter to his friend.
cold
  The water in the lake was cold. | It was a cold winter morning. | Drink your tea before it gets cold.
  She caught a cold last week. | He stayed home with a bad cold. | My cold made my nose run all day.
glasses
  He filled two glasses with juice. | The glasses were washed after the party. | We raised our glasses for a toast.
  I need my glasses to read. | He wears glasses with black frames. | She broke her glasses when she fell.
watch
  My watch stopped at noon. | He checked his watch and hurried off. | She got a silver watch for her birthday.
  We watch the birds every morning. | Did you watch the game last night? | They like to watch movies on Fridays.
park
  The children played in the park. | We walked through the park after lunch. | The park has a small lake.
  You can park the car behind the house. | It is hard to park downtown. | He tried to park next to the door.
play
  We saw a play at the theater. | The school play was about pirates. | She wrote a play with three acts.
  The kids play outside after school. | Do you play the piano? | Let us play cards tonight.
rock
  He sat on a large rock by the sea. | A rock rolled down the hill. | She threw a rock into the pond.
  My brother listens to rock all day. | They went to a rock concert. | He plays guitar in a rock band.
pen
  Can I borrow your pen to sign this? | The pen ran out of ink. | She wrote her name with a blue pen.
  The pigs were kept in a pen. | The farmer built a pen for the sheep. | The goat escaped from its pen.
club
  She joined the chess club at school. | The book club meets on Tuesdays. | He is the president of the hiking club.
  The giant swung a heavy club. | The guard held a wooden club. | The caveman carried a club made of bone.
date
  What is the date today? | Write the date at the top of the page. | We chose a date for the wedding.
  She ate a sweet date from the bowl. | He stuffed each date with an almond. | A dried date is very sticky.
nail
  She painted each nail red. | He broke a nail opening the can. | Her thumb nail was very long.
  He hammered a nail into the wall. | The picture hangs on a nail. | I stepped on a rusty nail.
wave
  A big wave crashed onto the beach. | The surfer rode the wave to shore. | Each wave left shells on the sand.
  She gave a friendly wave from the window. | He answered with a wave of his hand. | The child's wave made everyone smile.
key
  I lost the key to my house. | The key opened the old chest. | He turned the key in the door.
  She pressed a key on the piano. | The E key on my keyboard is stuck. | Each key made a different note.
scale
  She stood on the scale to weigh herself. | The baker put the flour on the scale. | The scale showed two kilograms.
  A single scale fell off the fish. | Each scale on the snake shone green. | The fish had one silver scale missing.
fair
  We rode the big wheel at the fair. | The county fair opens in August. | He won a prize at the fair.
  It is not fair that he got more cake. | The judge made a fair decision. | Everyone deserves a fair chance.
train
  The train left the station at noon. | We took the train to the city. | The train was full of tourists.
  They train dogs to find lost people. | Coaches train athletes every morning. | She wants to train as a nurse.
duck
  A duck swam across the pond. | The duck quacked loudly. | We fed bread to the duck.
  Duck, or the ball will hit you! | He had to duck under the low door. | The players had to duck to avoid the branch.
tie
  He wore a blue tie to the wedding. | His tie had small red dots. | Dad bought a silk tie.
  The game ended in a tie. | The vote was a tie, so they voted again. | After extra time it was still a tie.
sink
  Put the dirty dishes in the sink. | The kitchen sink is full of water. | She washed her hands at the sink.
  Heavy stones sink in water. | The boat began to sink after hitting the rock. | Watch the sun sink below the hills.
crane
  A crane stood on one leg in the marsh. | The crane spread its wings and flew over the lake. | We saw a white crane catching frogs.
  A tall crane lifted steel beams onto the roof. | The crane driver moved the load slowly. | Workers used a crane to load the ship.
jam
  She spread strawberry jam on her toast. | Grandma made jam from the plums. | The jar of jam was almost empty.
  We were stuck in a traffic jam for an hour. | A jam on the highway made us late. | The accident caused a long jam near the bridge.
bill
  The waiter brought the bill after dinner. | We split the bill between the four of us. | He forgot to pay the electricity bill.
  The duck pushed its bill into the mud. | The pelican has a huge bill. | The bird cracked the seed with its bill.
pitch
  The players ran onto the pitch. | Rain had turned the pitch into mud. | The football pitch was freshly cut.
  The note was too high in pitch for him to sing. | She can tell the pitch of any note. | The whistle had a very high pitch.
"""

# One short gloss per sense, in the order of the senses in WIC (written for this project).
WIC_GLOSSES = {
    "bank": ("the side of a river", "a place that keeps money"),
    "bat": ("a flying animal", "a stick for hitting a ball"),
    "bark": ("the sound a dog makes", "the outer layer of a tree"),
    "light": ("brightness that lets you see", "not heavy"),
    "match": ("a small stick for making fire", "a game between two sides"),
    "ring": ("jewelry worn on a finger", "an area where people fight or perform"),
    "spring": ("the season after winter", "a coil of metal"),
    "seal": ("a sea animal", "something that closes a container"),
    "bow": ("a knot with loops", "a weapon for shooting arrows"),
    "fan": ("a machine that moves air", "a person who loves a team or a band"),
    "mouse": ("a small rodent", "a device for a computer"),
    "trunk": ("the main stem of a tree", "the storage space of a car"),
    "palm": ("the inside of the hand", "a tropical tree"),
    "letter": ("a sign of the alphabet", "a written message"),
    "cold": ("low in temperature", "a common illness"),
    "glasses": ("cups for drinking", "lenses for the eyes"),
    "watch": ("a small clock on the wrist", "to look at something"),
    "park": ("a public garden", "to leave a vehicle"),
    "play": ("a story acted on stage", "to have fun or take part in a game"),
    "rock": ("a piece of stone", "a kind of loud music"),
    "pen": ("a tool for writing", "a fenced area for animals"),
    "club": ("a group of people", "a heavy stick"),
    "date": ("a day of the calendar", "a sweet fruit"),
    "nail": ("the hard tip of a finger", "a metal pin for hammering"),
    "wave": ("moving water in the sea", "a movement of the hand"),
    "key": ("a tool that opens a lock", "a button on a piano or keyboard"),
    "scale": ("a device for weighing", "a small plate on a fish's skin"),
    "fair": ("a fun event with rides", "just and right"),
    "train": ("a vehicle on rails", "to teach or practice"),
    "duck": ("a water bird", "to bend down quickly"),
    "tie": ("a cloth worn around the neck", "a game with an equal score"),
    "sink": ("a basin for washing", "to go down under water"),
    "crane": ("a bird with long legs", "a machine for lifting heavy things"),
    "jam": ("a sweet fruit spread", "a line of stuck cars"),
    "bill": ("a paper that says how much to pay", "the beak of a bird"),
    "pitch": ("a field for playing sport", "how high or low a sound is"),
}


def _parse_wic() -> list[tuple[str, list[str], list[str]]]:
    words, lines = [], [ln for ln in WIC.strip().splitlines() if ln.strip()]
    for i in range(0, len(lines), 3):
        w = lines[i].strip()
        s1 = [x.strip() for x in lines[i + 1].split("|")]
        s2 = [x.strip() for x in lines[i + 2].split("|")]
        for sent in s1 + s2:
            toks = [t.strip(".,!?;'").lower() for t in sent.split()]
            if w not in toks:
                raise ValueError(f"WiC sentence for {w!r} lacks the word: {sent}")
        words.append((w, s1, s2))
    return words


def gen_wic() -> TaskSpec:
    # Word sense as a choice between the word's two glosses, given one sentence.  Each word contributes all 6
    # of its sentences, so each gloss is gold exactly 3 times per word and a prior for one gloss cannot beat
    # chance.  Measured on SmolLM2-135M while designing this: the earlier sentence-pair version ("Is the word
    # used with the same meaning in both sentences?" yes/no) sat at chance at every shot.
    name = "icl_wic"
    rng = task_rng(name)
    words = _parse_wic()
    check_unique([w for w, _, _ in words], "WiC word")
    if sorted(WIC_GLOSSES) != sorted(w for w, _, _ in words):
        raise ValueError("WIC_GLOSSES must give the glosses of exactly the words in WIC")
    tr, va = halve(rng, words)

    def docs_for(part):
        docs = []
        for w, s1, s2 in part:
            glosses = WIC_GLOSSES[w]
            for sense, sentences in enumerate((s1, s2)):
                for sent in sentences:
                    docs.append({"word": w, "sentence": sent, "choices": list(glosses), "label": sense})
        rng.shuffle(docs)
        return balance_binary(docs)

    return TaskSpec(
        name=name,
        kind="word sense: which of two glosses fits the word in a sentence",
        mirrors="WiC",
        doc_to_text="Sentence: {{sentence}}\nQuestion: What does '{{word}}' mean in this sentence?\nAnswer:",
        train=docs_for(tr),
        validation=docs_for(va)[:VAL_CAP],
        chance=0.5,
    )


# ----------------------------------------------------------------------------------------------------------
# Pronoun / blank resolution (Winogrande/WSC-like twin sentences)
# ----------------------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------------------
# Sentence continuation (HellaSwag-like): context -> the one sensible ending among 4
# ----------------------------------------------------------------------------------------------------------

# context | ending.  Endings name their own objects, so an ending borrowed from another scenario does not fit.
CONTINUATIONS = """
{N} filled the kettle with water and | put the kettle on the stove to boil.
{N} picked up the watering can and | watered the roses in the garden.
{N} unlocked the front door and | stepped inside the house.
{N} put on {pp} running shoes and | went for a jog around the park.
{N} cracked two eggs into a bowl and | whisked the eggs with a fork.
{N} took a towel from the shelf and | dried {pp} wet hair with the towel.
{N} opened {pp} umbrella and | walked out into the pouring rain.
{N} sharpened {pp} pencil and | started writing the essay on paper.
{N} poured cereal into a bowl and | added some cold milk to the cereal.
{N} plugged in the vacuum cleaner and | vacuumed the carpet in the living room.
{N} climbed the ladder and | replaced the broken light bulb in the ceiling.
{N} put the letter in an envelope and | wrote the address on the envelope.
{N} picked up the guitar and | played a song on the guitar for {pp} friends.
{N} dipped the brush in blue paint and | painted the bedroom wall blue.
{N} turned on the oven and | put the tray of cookies inside the oven.
{N} clipped the leash to the dog's collar and | took the dog for a walk.
{N} put the key in the car's ignition and | started the car's engine.
{N} spread butter on the toast and | added a spoonful of jam to the toast.
{N} threw a stick across the yard, and the dog | ran to fetch the stick.
{N} opened the fridge and | took out a bottle of cold milk.
{N} wrapped the present in colorful paper and | tied a ribbon around the present.
{N} put a stamp on the postcard and | dropped the postcard into the mailbox.
{N} climbed into the swimming pool and | swam two lengths of the pool.
{N} set up the tent and | unrolled {pp} sleeping bag inside the tent.
{N} hung {pp} coat on the hook by the door and | took off {pp} muddy boots.
{N} pressed the seeds into the soil and | covered the seeds with a thin layer of earth.
{N} opened the book to the first page and | began to read the first chapter.
{N} washed the dishes and | put the clean plates in the cupboard.
{N} sat down at the piano and | played a slow waltz on the piano keys.
{N} bought a ticket at the station and | boarded the train to the city.
{N} put on {pp} helmet and | rode {pp} bicycle down the hill.
{N} picked up the scissors and | cut the ribbon in two.
{N} filled a bucket with soapy water and | washed the car in the driveway.
{N} put the baby in the warm bath and | gently washed the baby's hair.
{N} chopped the carrots and onions and | added the vegetables to the soup pot.
{N} opened the window and | let fresh air into the stuffy room.
{N} knocked on the neighbor's door and | waited for the neighbor to answer.
{N} picked up the remote control and | switched the television to the news.
{N} laced up {pp} ice skates and | glided across the frozen pond.
{N} grabbed the fishing rod and | cast the line into the lake.
{N} spread a blanket on the grass and | unpacked the picnic basket onto the blanket.
{N} put the kite together and | flew the kite high above the beach.
{N} picked up a shovel and | dug a hole for the new apple tree.
{N} squeezed toothpaste onto {pp} toothbrush and | brushed {pp} teeth in front of the mirror.
{N} poured pancake batter into the hot pan and | flipped the pancake after a minute.
{N} turned on the computer and | typed {pp} password to log in.
{N} pulled the sled to the top of the hill and | slid down the snowy slope on the sled.
{N} put a coin into the vending machine and | pressed the button for a can of soda.
{N} brushed {pp} long hair and | tied {pp} hair into a ponytail.
{N} picked the ripe apples from the tree and | put the apples in a basket.
{N} took the wet clothes out of the washing machine and | hung the clothes on the line to dry.
{N} parked the car outside the shop and | paid for parking at the machine.
{N} stepped onto the stage and | bowed to the audience in the theater.
{N} put on {pp} apron and | kneaded the bread dough on the counter.
{N} unfolded the map and | traced the route to the mountain village on the map.
{N} filled the bird feeder with seeds and | watched the sparrows come to eat the seeds.
{N} set the alarm clock for six and | switched off the bedside lamp to sleep.
{N} took a photo of the sunset and | sent the photo to {pp} friends.
{N} put the groceries in the shopping cart and | pushed the cart to the checkout.
{N} loaded the dirty dishes into the dishwasher and | pressed the start button on the dishwasher.
{N} pumped air into the flat tire and | rode the bicycle to school.
{N} struck a match and | lit the campfire with the match.
{N} raised {pp} hand in class and | answered the teacher's question.
{N} peeled the banana and | sliced the banana into {pp} yogurt.
{N} opened the birdcage and | gave the parrot fresh water and seeds.
{N} dialed the number of the pizza place and | ordered a large pizza for delivery.
{N} placed the chess pieces on the board and | made the first move with a pawn.
{N} wrapped a scarf around {pp} neck and | went out into the snowy street.
{N} took the cake out of the oven and | let the cake cool on the counter.
{N} mixed flour, sugar and butter and | rolled the dough into small balls.
{N} picked up the hammer and | drove the nail into the board.
{N} poured some shampoo into {pp} hand and | rinsed the shampoo out under the shower.
{N} put the leftovers in a plastic box and | placed the box in the fridge.
{N} took out a needle and thread and | sewed the button back onto the shirt.
{N} heard the doorbell ring and | went to see who was at the door.
{N} looked through the telescope and | saw the rings of Saturn.
{N} saddled the horse and | rode the horse across the field.
{N} put a tea bag in a cup and | poured boiling water over the tea bag.
{N} blew up the balloons and | tied the balloons to the chairs for the party.
{N} turned on the tap and | filled a glass with cold water from the tap.
{N} raked the fallen leaves and | stuffed the leaves into a big garden bag.
{N} opened the jar of honey and | spread honey on a slice of bread.
{N} put a new battery in the flashlight and | pointed the flashlight into the dark cellar.
{N} climbed into bed and | pulled the blanket up to {pp} chin.
{N} put {pp} suitcase on the belt at the airport and | showed {pp} passport to the clerk.
{N} rinsed the rice and | cooked the rice in a pot of boiling water.
{N} pressed the elevator button and | rode the elevator to the tenth floor.
{N} wiped the whiteboard clean and | wrote the date on it with a marker.
{N} tuned the violin and | played a short tune on the violin.
{N} set the table with plates and forks and | called everyone to dinner.
{N} folded the sheet of paper in half and | made a paper airplane.
{N} tasted the soup and | added a pinch of salt to the soup.
{N} put the puppy in its basket and | covered the puppy with a soft blanket.
{N} caught a big fish and | cooked the fish over the fire.
{N} measured the window with a tape measure and | bought curtains that fit the window.
{N} lit the candles on the birthday cake and | carried the cake to the table.
{N} put on {pp} swimsuit and | dove into the cold lake.
{N} found a wallet on the sidewalk and | took the wallet to the police station.
{N} sat down in the barber's chair and | asked the barber for a short haircut.
"""


def gen_continuation() -> TaskSpec:
    name = "icl_continuation"
    rng = task_rng(name)
    scen = [tuple(x.strip() for x in line.split("|")) for line in CONTINUATIONS.strip().splitlines()]
    check_unique([c for c, _ in scen], "continuation context")
    tr, va = halve(rng, scen)

    def docs_for(part, names_per):
        docs = []
        for ctx, end in part:
            others = [e for c, e in part if c != ctx]
            used: tuple[str, ...] = ()
            for _ in range(names_per):
                who = person(rng, avoid=used)
                used = (*used, who["N"])
                ds = [fill(d, who) for d in rng.sample(others, 3)]
                docs.append({"context": fill(ctx, who), **mc(rng, fill(end, who), ds)})
        rng.shuffle(docs)
        return docs

    return TaskSpec(
        name=name,
        kind="sentence continuation (4 endings)",
        mirrors="HellaSwag",
        doc_to_text="{{context}}",
        train=docs_for(tr, 3),
        validation=docs_for(va, 3)[:VAL_CAP],
        chance=0.25,
    )


# ----------------------------------------------------------------------------------------------------------
# Out-of-distribution: arithmetic word problems (MathQA stand-in) and last-word prediction (LAMBADA stand-in)
# ----------------------------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------------------------
# Registry, writers, CLI
# ----------------------------------------------------------------------------------------------------------

# name -> generator.  Order = the order of the suite in README/tables.  Replace a weak task by swapping its
# generator here (each task has its own seeded RNG, so other tasks are unaffected).
TASKS: dict[str, Callable[[], TaskSpec]] = {
    "icl_copa": gen_copa,
    "icl_physical": gen_physical,
    "icl_science": gen_science,
    "icl_boolq": gen_boolq,
    "icl_entail": gen_entail,
    "icl_wic": gen_wic,
    "icl_pronoun": gen_pronoun,
    "icl_continuation": gen_continuation,
    "icl_city_country": gen_city_country,
    "icl_antonyms": gen_antonyms,
    "icl_plural": gen_plural,
    "icl_past_tense": gen_past,
    "icl_french": gen_french,
    "icl_category": gen_category,
    "icl_arith": gen_arith,
    "icl_lastword": gen_lastword,
}


def finalize(spec: TaskSpec) -> TaskSpec:
    """Attach stable ids, validate, and check that no prompt repeats within or across splits."""
    if spec.name not in TASKS:
        raise ValueError(spec.name)
    seen: dict[str, str] = {}
    for split, docs in (("train", spec.train), ("validation", spec.validation)):
        for i, doc in enumerate(docs):
            doc_id = f"{spec.name}-{split}-{i:04d}"
            docs[i] = {"id": doc_id, **doc}
            text = render(spec.doc_to_text, doc)
            if text in seen:
                raise ValueError(f"{spec.name}: duplicate prompt {text!r} ({seen[text]} / {doc_id})")
            seen[text] = doc_id
            if spec.output_type == "multiple_choice":
                ch, lab = doc["choices"], doc["label"]
                if not (isinstance(lab, int) and 0 <= lab < len(ch)) or len(set(ch)) != len(ch):
                    raise ValueError(f"{spec.name}: bad choices/label in {doc}")
                if abs(1 / len(ch) - spec.chance) > 1e-9:
                    raise ValueError(f"{spec.name}: {len(ch)} choices but chance={spec.chance}")
    if len(spec.train) < 100 or not 100 <= len(spec.validation) <= VAL_CAP:
        raise ValueError(f"{spec.name}: sizes train={len(spec.train)} validation={len(spec.validation)}")
    return spec


def q(s: str) -> str:
    """YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(s, ensure_ascii=True)


def yaml_text(spec: TaskSpec) -> str:
    lines = [
        "# Generated by tasks/generate.py -- do not edit by hand; edit the generator and re-run it.",
        f"task: {spec.name}",
        "dataset_path: json",
        "dataset_kwargs:",
        "  data_files:",
        f"    train: data/{spec.name}/train.jsonl",
        f"    validation: data/{spec.name}/validation.jsonl",
        "training_split: train",
        "validation_split: validation",
        "fewshot_split: train",
        f"output_type: {spec.output_type}",
        f"doc_to_text: {q(spec.doc_to_text)}",
    ]
    if spec.doc_to_choice is not None:
        lines.append(f"doc_to_choice: {q(spec.doc_to_choice)}")
    lines += [
        f"doc_to_target: {q(spec.doc_to_target)}",
        f"target_delimiter: {q(spec.target_delimiter)}",
        f"fewshot_delimiter: {q(chr(10) * 2)}",
        "metric_list:",
        "  - metric: acc",
        "    aggregation: mean",
        "    higher_is_better: true",
        "metadata:",
        "  version: 1.0",
        f"  chance: {spec.chance!r}",
        f"  kind: {q(spec.kind)}",
        f"  mirrors: {q(spec.mirrors)}",
        f"  ood: {'true' if spec.ood else 'false'}",
        f"  num_train: {len(spec.train)}",
        f"  num_validation: {len(spec.validation)}",
    ]
    return "\n".join(lines) + "\n"


def jsonl_text(docs: list[dict]) -> str:
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)


def build_all() -> dict[str, str]:
    """relative path -> file content, for every generated file."""
    files: dict[str, str] = {}
    for name, gen in TASKS.items():
        spec = finalize(gen())
        files[f"{name}.yaml"] = yaml_text(spec)
        files[f"data/{name}/train.jsonl"] = jsonl_text(spec.train)
        files[f"data/{name}/validation.jsonl"] = jsonl_text(spec.validation)
    return files


def write_all(out: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8"))


def generated_paths(root: Path) -> list[str]:
    """Files under ``root`` that belong to the generator's output namespace (to detect stale leftovers)."""
    found = [p.relative_to(root).as_posix() for p in root.glob("icl_*.yaml")]
    data = root / "data"
    if data.is_dir():
        found += [p.relative_to(root).as_posix() for p in data.rglob("*") if p.is_file()]
    return sorted(found)


def check(root: Path) -> list[str]:
    """Regenerate into a temp dir and compare with ``root``; return a list of problems (empty = OK)."""
    files = build_all()
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        write_all(tmp_path, files)
        for rel in sorted(files):
            have = root / rel
            if not have.is_file():
                problems.append(f"missing: {rel}")
            elif have.read_bytes() != (tmp_path / rel).read_bytes():
                problems.append(f"differs: {rel}")
    problems += [f"stale (not generated): {rel}" for rel in generated_paths(root) if rel not in files]
    return problems


def markdown_table() -> str:
    """The task table of tasks/README.md (tests check that the README matches the generated YAMLs)."""
    rows = [
        "| Task | Kind | Mirrors | Chance | #train | #validation |",
        "|---|---|---|---|---|---|",
    ]
    for gen in TASKS.values():
        spec = finalize(gen())
        rows.append(
            f"| `{spec.name}` | {spec.kind} | {spec.mirrors} | {spec.chance:g} | {len(spec.train)} "
            f"| {len(spec.validation)} |"
        )
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="verify committed files match the generator")
    ap.add_argument("--out", type=Path, default=TASK_DIR, help="output directory (default: tasks/)")
    ap.add_argument("--table", action="store_true", help="print the README task table and exit")
    args = ap.parse_args(argv)
    if args.table:
        print(markdown_table(), end="")
        return 0
    if args.check:
        problems = check(args.out)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print(
                f"{len(problems)} problem(s); run `python tasks/generate.py` to regenerate", file=sys.stderr
            )
            return 1
        print(f"OK: {len(TASKS)} tasks match the generator")
        return 0
    files = build_all()
    write_all(args.out, files)
    stale = [rel for rel in generated_paths(args.out) if rel not in files]
    for rel in stale:
        print(f"warning: stale file not produced by the generator: {rel}", file=sys.stderr)
    print(f"wrote {len(files)} files for {len(TASKS)} tasks under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
