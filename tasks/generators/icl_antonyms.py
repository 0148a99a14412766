"""``icl_antonyms``: word -> antonym (lexical mapping; 4 choices).

Docs: ``{"word": str, "choices": [4 words], "label": int}``.  Each antonym pair gives two docs
(both directions), and both stay in one split; no distractor comes from the cue's semantic cluster.
"""

from __future__ import annotations

from .common import VAL_CAP, TaskSpec, check_unique, halve, mc, pick_distractors, task_rng

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
    """The antonym task: two docs (a -> b, b -> a) per pair in ``ANTONYMS``."""
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
