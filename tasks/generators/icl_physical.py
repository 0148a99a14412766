"""``icl_physical``: physical commonsense, PIQA-like: which tool serves a goal (2 alternatives).

Docs: ``{"goal": str, "choices": [2 tools], "label": int}``.  Tools (with all their goals) are split
between train and validation; the wrong tool always comes from a different tool group.
"""

from __future__ import annotations

from .common import VAL_CAP, TaskSpec, balance_binary, check_unique, halve, mc, task_rng

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
    """The PIQA-like task: one doc per (tool, goal) in ``PHYSICAL``; labels exactly balanced."""
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
