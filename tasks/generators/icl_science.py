"""``icl_science``: science / world-fact QA, ARC- and OpenBookQA-like (4 choices).

Docs: ``{"question": str, "choices": [4 answers], "label": int}``.  Questions come from five banks
(animal classes, organs, senses, young animals, free-form QA); the split is stratified by bank.
"""

from __future__ import annotations

from .common import VAL_CAP, TaskSpec, check_unique, halve, mc, parse_pairs, pick_distractors, task_rng

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
    """The science QA task: one doc per question (banks without listed distractors
    draw them from the bank's answers)."""
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
