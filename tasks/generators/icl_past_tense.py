"""``icl_past_tense``: present -> past tense (lexical mapping, morphology; 4 choices).

Docs: ``{"verb": str, "choices": [4 forms], "label": int}``.  The distractors are other forms of
the same verb (base, 3rd person, -ing, regularised past).
"""

from __future__ import annotations

from .common import TaskSpec, lexical_task

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
    """The past-tense task: one doc per verb in ``PASTS``, split stratified by inflection group."""
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
