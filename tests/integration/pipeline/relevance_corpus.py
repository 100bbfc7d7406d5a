"""A small corpus of short documents on distinct topics, and queries that
say what each is about in other words (no query repeats the document's
key words verbatim where a paraphrase exists)."""

from __future__ import annotations

#: filename -> text
DOCUMENTS: dict[str, str] = {
    "sourdough.md": "Sourdough bread rises thanks to a starter: a culture of wild yeast and "
    "lactic acid bacteria fed with flour and water. Bakers fold the dough, let it ferment "
    "overnight and bake it in a hot Dutch oven for a crisp crust.",
    "solar.txt": "Photovoltaic panels convert sunlight into electricity. Inverters turn their "
    "direct current into alternating current for the grid, and batteries store the surplus "
    "produced at noon for use in the evening.",
    "marathon.txt": "Training for a marathon takes months of gradually longer runs, a weekly "
    "long run approaching 32 kilometres, easy recovery days and a taper in the final weeks "
    "before the 42.195 km race.",
    "coral.txt": "Coral reefs bleach when ocean water becomes too warm: the polyps expel the "
    "symbiotic algae that feed them and give them colour, and without them the colony starves.",
    "tax.txt": "Self-employed workers must file quarterly estimated tax payments. Keeping "
    "receipts for deductible expenses such as a home office lowers the amount owed to the "
    "revenue agency.",
    "chess.txt": "In chess, the opening phase aims to develop knights and bishops, control the "
    "centre squares and castle the king early. The Sicilian Defence answers 1.e4 with c5.",
    "vaccines.txt": "Vaccines train the immune system by presenting a harmless piece of a "
    "pathogen, so that antibodies and memory cells are ready before a real infection occurs.",
    "git.txt": "Git stores snapshots of a repository. A branch is a movable pointer to a "
    "commit; merging combines histories, and rebasing replays commits on top of another base.",
    "volcano.txt": "Volcanoes erupt when magma rises through cracks in the crust. Pressure "
    "from dissolved gases drives explosive eruptions that throw ash and pumice into the sky.",
    "sleep.txt": "Adults need seven to nine hours of sleep. Deep sleep restores the body and "
    "REM sleep consolidates memories; screens before bed delay the release of melatonin.",
    "coffee.txt": "Espresso is brewed by forcing hot water at nine bars of pressure through "
    "finely ground coffee for about 25 seconds, producing a concentrated shot topped by crema.",
    "bees.txt": "Honeybee colonies collapse when mites, pesticides and poor forage weaken "
    "them. Beekeepers inspect hives for varroa and treat infestations in late summer.",
    "mortgage.txt": "A fixed-rate mortgage keeps the same interest rate for the whole loan "
    "term, while an adjustable-rate loan resets periodically with market rates, changing the "
    "monthly instalment.",
    "knitting.txt": "Knitting a scarf starts with casting on stitches onto a needle, then "
    "alternating knit and purl rows with wool yarn until the piece is long enough to bind off.",
    "blackhole.txt": "A black hole forms when a massive star collapses. Its event horizon is "
    "the boundary beyond which nothing, not even light, can escape the gravitational pull.",
    "composting.txt": "Garden compost needs a balance of green kitchen scraps rich in nitrogen "
    "and brown leaves rich in carbon, kept moist and turned so microbes can decompose them.",
    "python_gil.txt": "CPython's global interpreter lock lets only one thread execute Python "
    "bytecode at a time, so CPU-bound programs use multiple processes for parallelism.",
    "wine.txt": "Winemakers crush grapes, ferment the must with yeast and age red wines in "
    "oak barrels, where tannins soften and flavours of vanilla and spice develop.",
    "earthquake.txt": "Earthquakes happen when tectonic plates slip along a fault. Seismographs "
    "record the waves, and the magnitude scale is logarithmic.",
    "dogs.txt": "Puppies learn to sit and come when called through positive reinforcement: "
    "rewarding the desired behaviour with treats right away, in short daily sessions.",
    "passwords.txt": "Strong account security uses long unique passphrases stored in a "
    "password manager, plus two-factor authentication with an app or hardware key.",
    "rome.txt": "The Roman Empire built aqueducts, roads and the Colosseum. Its western half "
    "fell in 476 AD when Germanic leaders deposed the last emperor, Romulus Augustulus.",
    "photosynthesis.txt": "Plants capture light in chlorophyll and use it to turn carbon "
    "dioxide and water into glucose, releasing oxygen as a by-product.",
    "guitar.txt": "Tuning a six-string guitar in standard tuning sets the strings to E A D G "
    "B E. Beginners learn open chords such as G, C and D before barre chords.",
    "insulin.txt": "In type 1 diabetes the pancreas makes no insulin, so patients inject it "
    "and monitor blood glucose to avoid dangerous highs and lows.",
    "recycling.txt": "Municipal recycling sorts paper, glass, aluminium cans and plastic "
    "bottles; contaminated items such as greasy pizza boxes end up in landfill.",
    "tides.txt": "Tides rise and fall twice a day because the moon's gravity pulls the "
    "oceans, with the highest spring tides when the sun and moon align.",
    "interview.txt": "Preparing for a job interview means researching the company, practising "
    "answers about past achievements and preparing questions to ask the hiring manager.",
    "ski.txt": "Beginner skiers learn the snowplough, pointing ski tips together to slow "
    "down, before progressing to parallel turns on gentle slopes.",
    "climate.txt": "Greenhouse gases such as carbon dioxide and methane trap heat in the "
    "atmosphere, raising global average temperatures and sea levels.",
    "sushi.txt": "Sushi rice is seasoned with rice vinegar, sugar and salt, then shaped with "
    "raw fish such as tuna or salmon, or rolled in nori seaweed.",
    "printing.txt": "Gutenberg's movable metal type printing press, around 1440, made books "
    "cheaper and spread literacy and new ideas across Europe.",
    "ants.txt": "Ant colonies are organised around a queen that lays eggs, while sterile "
    "female workers forage, following pheromone trails laid by their nestmates.",
    "vpn.txt": "A virtual private network encrypts traffic between a device and a server, "
    "hiding browsing from the local network and changing the apparent IP address.",
}

#: (query, expected filename): phrased differently from the text.
QUERIES: list[tuple[str, str]] = [
    ("how do I make naturally leavened loaves at home", "sourdough.md"),
    ("turning the sun's rays into power for a house", "solar.txt"),
    ("preparing for a long distance running event", "marathon.txt"),
    ("why do reefs turn white in hot seas", "coral.txt"),
    ("freelancers paying income duties to the government", "tax.txt"),
    ("best first moves in the board game with pawns and rooks", "chess.txt"),
    ("how immunisation shots protect against disease", "vaccines.txt"),
    ("version control: combining work from different lines of development", "git.txt"),
    ("what makes a mountain explode with lava", "volcano.txt"),
    ("how many hours of rest at night does a grown-up need", "sleep.txt"),
    ("making a strong small cup with a barista machine", "coffee.txt"),
    ("why are hives of pollinating insects dying", "bees.txt"),
    ("home loan with a rate that never changes", "mortgage.txt"),
    ("crafting a winter neck warmer with needles", "knitting.txt"),
    ("region of space where light cannot get out", "blackhole.txt"),
    ("turning food waste and leaves into fertiliser", "composting.txt"),
    ("why threads do not speed up computation in that interpreter", "python_gil.txt"),
    ("how a red vintage is produced from the vineyard harvest", "wine.txt"),
    ("what causes the ground to shake", "earthquake.txt"),
    ("teaching a young canine obedience commands", "dogs.txt"),
    ("protecting online logins from hackers", "passwords.txt"),
    ("collapse of the ancient Latin civilisation", "rome.txt"),
    ("how leaves make sugar from light", "photosynthesis.txt"),
    ("getting started with an acoustic instrument with six strings", "guitar.txt"),
    ("managing a condition where the body cannot regulate blood sugar", "insulin.txt"),
    ("which household waste can be reused and what goes in the bin", "recycling.txt"),
    ("why the sea level at the coast goes up and down each day", "tides.txt"),
    ("tips to get hired after meeting an employer", "interview.txt"),
    ("first lessons on the snowy slopes", "ski.txt"),
    ("global warming caused by emissions", "climate.txt"),
    ("Japanese dish with raw seafood and seasoned grains", "sushi.txt"),
    ("invention that spread books in the fifteenth century", "printing.txt"),
    ("how insect societies with a single egg layer work", "ants.txt"),
    ("hiding my internet activity with an encrypted tunnel", "vpn.txt"),
]
