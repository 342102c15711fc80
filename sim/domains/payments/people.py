"""Card holders' demographics (census shares) and optional Faker-style profile fields, all seeded.

Profile fields are drawn independently of every label, so a name, e-mail or phone number never tells a
fraudster or a mule from anyone else.
"""

from __future__ import annotations

import numpy as np

from sim.domains.payments import profiles

# The most common US first names (SSA, births 1960-2000) and surnames (Census 2010); short lists suffice
# for realistic-looking, non-identifying fields.
FIRST = {
    "Female": [
        "Mary",
        "Patricia",
        "Jennifer",
        "Linda",
        "Elizabeth",
        "Barbara",
        "Susan",
        "Jessica",
        "Sarah",
        "Karen",
        "Nancy",
        "Lisa",
        "Betty",
        "Margaret",
        "Sandra",
        "Ashley",
        "Kimberly",
        "Emily",
        "Donna",
        "Michelle",
        "Carol",
        "Amanda",
        "Melissa",
        "Deborah",
        "Stephanie",
        "Rebecca",
        "Laura",
        "Sharon",
        "Cynthia",
        "Kathleen",
        "Amy",
        "Angela",
        "Shirley",
        "Anna",
        "Brenda",
        "Pamela",
        "Emma",
        "Nicole",
        "Helen",
        "Samantha",
    ],
    "Male": [
        "James",
        "Robert",
        "John",
        "Michael",
        "David",
        "William",
        "Richard",
        "Joseph",
        "Thomas",
        "Charles",
        "Christopher",
        "Daniel",
        "Matthew",
        "Anthony",
        "Mark",
        "Donald",
        "Steven",
        "Paul",
        "Andrew",
        "Joshua",
        "Kenneth",
        "Kevin",
        "Brian",
        "George",
        "Timothy",
        "Ronald",
        "Edward",
        "Jason",
        "Jeffrey",
        "Ryan",
        "Jacob",
        "Gary",
        "Nicholas",
        "Eric",
        "Jonathan",
        "Stephen",
        "Larry",
        "Justin",
        "Scott",
        "Brandon",
    ],
}
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
]
MAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com"]


def demographics(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Age and gender from the census age-by-gender bands; state (and urban or not) by population."""
    bands = profiles.census_age_gender()
    pick = rng.choice(len(bands["share"]), size=n, p=bands["share"] / bands["share"].sum())
    low = bands["age_low"][pick]
    high = bands["age_high"][pick]
    age = (low + np.floor(rng.random(n) * (high - low + 1))).astype(np.int16)
    gender = bands["gender"][pick]
    states = profiles.census_states()
    where = rng.choice(len(states["share"]), size=n, p=states["share"] / states["share"].sum())
    urban = rng.random(n) < states["urban_share"][where]
    return {"age": age, "gender": gender, "state": states["state"][where], "urban": urban}


def profile_fields(rng: np.random.Generator, gender: np.ndarray) -> dict[str, np.ndarray]:
    """Name, e-mail and phone number, seeded from the run's streams."""
    n = len(gender)
    first = np.empty(n, dtype=object)
    for g, names in FIRST.items():
        rows = np.flatnonzero(gender == g)
        first[rows] = np.asarray(names, dtype=object)[rng.integers(0, len(names), len(rows))]
    rows = np.flatnonzero(first == None)  # noqa: E711 (customers without demographics)
    pool = np.asarray(FIRST["Female"] + FIRST["Male"], dtype=object)
    first[rows] = pool[rng.integers(0, len(pool), len(rows))]
    last = np.asarray(LAST, dtype=object)[rng.integers(0, len(LAST), n)]
    number = rng.integers(1, 1000, n)
    domain = np.asarray(MAIL_DOMAINS, dtype=object)[rng.integers(0, len(MAIL_DOMAINS), n)]
    area = rng.integers(201, 990, n)
    local = rng.integers(0, 10_000_000, n)
    name = np.array([f"{f} {s}" for f, s in zip(first, last, strict=True)], dtype=object)
    email = np.array(
        [f"{f.lower()}.{s.lower()}{k}@{d}" for f, s, k, d in zip(first, last, number, domain, strict=True)],
        dtype=object,
    )
    phone = np.array([f"+1-{a}-{x // 10_000:03d}-{x % 10_000:04d}" for a, x in zip(area, local, strict=True)])
    return {"name": name, "email": email, "phone": phone.astype(object)}
