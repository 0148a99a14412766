"""``icl_wic``: word sense, WiC-like: which of a word's two glosses fits it in a sentence (2 options).

Docs: ``{"word": str, "sentence": str, "choices": [2 glosses], "label": int}``.  Each word has two
senses with three sentences each; words are split between train and validation.
"""

from __future__ import annotations

from .common import VAL_CAP, TaskSpec, balance_binary, check_unique, halve, task_rng

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
    """The word-sense task: one doc per sentence in ``WIC`` (6 per word); labels exactly balanced."""
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
