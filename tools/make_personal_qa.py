#!/usr/bin/env python3
"""Generates bench/personal_qa.json: synthetic user profiles, each with 20+ memories (including
near-duplicate distractors) and 10+ questions with short gold answers. Seeded: the same seed
gives the same file. Standard library only.

Usage: tools/make_personal_qa.py [--seed 7] [--profiles 30]
"""
import argparse
import json
import random

FEMALE = ["Ana", "Chloe", "Elena", "Greta", "Ines", "Kemi", "Maya", "Olga", "Rosa", "Tara", "Vera", "Xenia", "Zoe"]
MALE = ["Ben", "Dev", "Farid", "Hiro", "Jonas", "Luca", "Nikos", "Pablo", "Sami", "Umar", "Wes", "Yusuf"]
FIRST = FEMALE + MALE
PETS = ["Biscuit", "Pepper", "Mochi", "Rex", "Luna", "Ziggy", "Nala", "Otis", "Poppy", "Bruno", "Kiwi", "Maple", "Tofu", "Juno"]
COLOURS = ["red", "blue", "green", "yellow", "purple", "orange", "black", "white", "pink", "grey", "teal", "brown"]
CITIES = ["Lisbon", "Oslo", "Kyoto", "Denver", "Nairobi", "Porto", "Dublin", "Seville", "Hanoi", "Quebec", "Perth", "Krakow"]
JOBS = ["nurse", "pilot", "baker", "architect", "teacher", "chemist", "carpenter", "librarian", "dentist", "journalist"]
ROOMS = ["kitchen", "hallway", "garage", "attic", "bedroom", "study"]
FURNITURE = ["drawer", "shelf", "cupboard", "box", "cabinet"]
SIDES = ["left", "right", "top", "bottom"]
DRINKS = ["oat flat white", "black coffee", "green tea", "hot chocolate", "chai latte", "espresso", "mint tea"]
FOODS = ["lasagne", "sushi", "tacos", "curry", "paella", "ramen", "pizza", "falafel"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
SPORTS = ["tennis", "swimming", "climbing", "running", "yoga", "cycling", "rowing"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
INSTRUMENTS = ["piano", "violin", "guitar", "cello", "flute", "drums"]
BOOKS = ["Dune", "Emma", "Beloved", "Ulysses", "Middlemarch", "Rebecca", "Kindred"]


def profile(rng, index):
    """One user's memories and questions; each question names the memory that answers it."""
    pick = lambda xs, k=1: rng.sample(xs, k) if k > 1 else rng.choice(xs)  # noqa: E731
    memories, questions = [], []

    def mem(text):
        memories.append(text)
        return len(memories) - 1

    def ask(q, a, m):
        questions.append({"question": q, "answer": a, "memory": m})

    pet, pet2 = pick(PETS, 2)
    c1, c2 = pick(COLOURS, 2)
    m = mem(f"My dog is called {pet}. {pet} wears a {c1} collar.")
    mem(f"The neighbour's dog is called {pet2} and wears a {c2} collar.")  # near-duplicate distractor
    ask(f"What colour is {pet}'s collar?", c1, m)
    ask("What is my dog called?", pet, m)

    sister, brother = pick(FEMALE), pick(MALE)
    city1, city2 = pick(CITIES, 2)
    job = pick(JOBS)
    m = mem(f"My sister {sister} lives in {city1} and works as a {job}.")
    m2 = mem(f"My brother {brother} moved to {city2} last year.")
    ask(f"Which city does my sister {sister} live in?", city1, m)
    ask(f"What is my sister's job?", job, m)
    ask(f"Where did my brother {brother} move?", city2, m2)

    code1, code2 = rng.randint(1000, 9999), rng.randint(1000, 9999)
    m = mem(f"The garage door code is {code1}.")
    mem(f"The code for the garden gate is {code2}.")  # distractor
    ask("What is the garage door code?", str(code1), m)

    room, furn, side = pick(ROOMS), pick(FURNITURE), pick(SIDES)
    m = mem(f"I keep the spare house key in the {side} {furn} in the {room}.")
    ask("Where do I keep the spare house key?", f"{side} {furn}", m)

    bike = pick(COLOURS)
    m = mem(f"My bicycle is the {bike} one with a basket.")
    ask("What colour is my bicycle?", bike, m)

    drink = pick(DRINKS)
    m = mem(f"My usual coffee shop order is a {drink}.")
    ask("What do I usually order at the coffee shop?", drink, m)

    food1, food2 = pick(FOODS, 2)
    m = mem(f"My favourite food is {food1}; I don't like {food2}.")
    ask("What is my favourite food?", food1, m)

    month, day = pick(MONTHS), rng.randint(1, 28)
    mum = pick(FEMALE)
    m = mem(f"My mother {mum}'s birthday is on {month} {day}.")
    ask("When is my mother's birthday?", f"{month} {day}", m)

    locker, spot = rng.randint(10, 399), f"{rng.choice('ABCDE')}{rng.randint(1, 60)}"
    m = mem(f"My gym locker is number {locker}.")
    ask("What is my gym locker number?", str(locker), m)
    m = mem(f"At work I park in spot {spot} on level {rng.randint(1, 4)}.")
    ask("Which parking spot do I use at work?", spot, m)

    sport, sday = pick(SPORTS), pick(DAYS)
    m = mem(f"I go {sport} every {sday} evening.")
    ask(f"Which day do I go {sport}?", sday, m)

    friend, instrument = pick(FIRST), pick(INSTRUMENTS)
    m = mem(f"My friend {friend} plays the {instrument} in a small band.")
    ask(f"What instrument does {friend} play?", instrument, m)

    book = pick(BOOKS)
    m = mem(f"I am reading {book} for my book club.")
    ask("Which book am I reading for my book club?", book, m)

    cat, cat_colour = pick([p for p in PETS if p not in (pet, pet2)]), pick(COLOURS)
    m = mem(f"Our cat {cat} has {cat_colour} fur and sleeps on the sofa.")
    ask(f"What colour is {cat}'s fur?", cat_colour, m)

    # Plain filler facts (also distractors for retrieval).
    mem(f"The boiler service is due in {pick(MONTHS)}.")
    mem(f"I prefer window seats on long flights.")
    mem(f"The plant on the windowsill needs water every {rng.randint(2, 9)} days.")
    while len(memories) < 20:
        mem(f"I bought a {pick(COLOURS)} umbrella in {pick(CITIES)}.")
    # Shuffle memories (so position says nothing) and questions.
    order = list(range(len(memories)))
    rng.shuffle(order)
    new_index = {old: new for new, old in enumerate(order)}
    memories = [memories[i] for i in order]
    for q in questions:
        q["memory"] = new_index[q["memory"]]
    rng.shuffle(questions)
    extras(random.Random(f"extras-{index}"), memories, questions,
           sister=sister, pet=pet, friend=friend, instrument=instrument, brother=brother, cat=cat)
    return {"id": index, "memories": memories, "questions": questions}


CLINICS = ["Riverside", "Oakwood", "Hillcrest", "Lakeside", "Greenway", "Northgate", "Elmstead"]
VENUES = ["Blue Lantern", "Old Mill", "Harbour Bar", "Red Door", "Cellar Club", "Fox and Hound"]


def extras(rng, memories, questions, sister, pet, friend, instrument, brother, cat):
    """Questions added to a profile after its first version, drawn from their own generator so
    that the first version's memories and questions stay exactly as they were: three that need
    two memories each (a fact about someone, and the memory that says who they are), and two
    that no memory answers, close to what is remembered. New memories go in at random places."""
    added = []

    def mem(text):
        added.append(text)
        return len(memories) + len(added) - 1

    month, day = rng.choice(MONTHS), rng.randint(1, 28)
    sister_memory = next(i for i, m in enumerate(memories) if m.startswith(f"My sister {sister} "))
    b = mem(f"{sister}'s birthday is on {month} {day}.")
    two = [{"question": "When is my sister's birthday?", "answer": f"{month} {day}", "memories": [sister_memory, b]}]
    clinic = rng.choice(CLINICS)
    dog_memory = next(i for i, m in enumerate(memories) if m.startswith(f"My dog is called {pet}."))
    v = mem(f"{pet} sees the vet at the {clinic} clinic.")
    two.append({"question": "Which clinic does my dog see the vet at?", "answer": clinic, "memories": [dog_memory, v]})
    venue = rng.choice(VENUES)
    friend_memory = next(i for i, m in enumerate(memories) if m.startswith(f"My friend {friend} "))
    g = mem(f"{friend}'s band plays at the {venue} on Fridays.")
    two.append({"question": f"Where does the band of my friend who plays the {instrument} play?", "answer": venue,
                "memories": [friend_memory, g]})
    mem(f"My passport expires in {rng.choice(MONTHS)} {rng.randint(2027, 2034)}.")
    mem(f"The car's inspection is due in {rng.choice(MONTHS)}.")

    unanswerable = [
        f"What is my brother {brother}'s job?" if brother != friend else "What is my brother's phone number?",
        "What is the code for the front door?",
        "When is my father's birthday?",
        "What is my passport number?",
        "When is my car insurance due?",
        "What is the name of my goldfish?",
        "What colour is my car?",
        f"Which city does my friend {friend} live in?" if friend not in (sister, brother) else "What is my dentist's name?",
        f"When is {cat}'s birthday?",
        "What is my sister's phone number?",
    ]
    none = [{"question": q, "answer": "", "memories": [], "unanswerable": True} for q in rng.sample(unanswerable, 2)]

    # Insert the new memories at random places and renumber every reference.
    order = list(range(len(memories) + len(added)))
    rng.shuffle(order)
    new_index = {old: new for new, old in enumerate(order)}
    everything = memories + added
    memories[:] = [everything[i] for i in order]
    for q in questions:
        q["memory"] = new_index[q["memory"]]
    for q in two:
        q["memories"] = [new_index[i] for i in q["memories"]]
    questions.extend(two + none)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profiles", type=int, default=30)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    profiles = [profile(rng, i) for i in range(args.profiles)]
    n_q = sum(len(p["questions"]) for p in profiles)
    out = {"generator": "tools/make_personal_qa.py", "seed": args.seed,
           "scoring": "normalized match: lower-case, punctuation removed, the gold answer's words appear in order in the answer; "
                      "an unanswerable question is right when the answer is the documented nothing-remembered reply",
           "profiles": profiles}
    with open("bench/personal_qa.json", "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote bench/personal_qa.json: {len(profiles)} profiles, "
          f"{sum(len(p['memories']) for p in profiles)} memories, {n_q} questions")


if __name__ == "__main__":
    main()
