"""``icl_continuation``: sentence continuation, HellaSwag-like: the one sensible ending among 4.

Docs: ``{"context": str, "choices": [4 endings], "label": int}``.  Scenarios are split between
train and validation; the 3 wrong endings come from other scenarios of the same split.
"""

from __future__ import annotations

from .common import VAL_CAP, TaskSpec, check_unique, fill, halve, mc, person, task_rng

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
    """The continuation task: 3 docs (3 people) per scenario in ``CONTINUATIONS``."""
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
