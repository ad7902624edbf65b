"""Write the small example graph used by the README and the tests (``examples/friends*``).

A made-up friendship network: 240 people in four clubs, most friendships inside
a club, a few popular people with many friends, and each person's interests
(20 yes/no columns) leaning towards their club's. Generated, not collected:
no real person is in it; released under CC0 1.0 (see ``examples/README.md``).

    python examples/make_friends.py     # rewrites the three files identically
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLUBS = ("chess", "climbing", "choir", "robotics")
INTERESTS = (
    "boardgames", "puzzles", "history", "tea", "hiking", "camping", "yoga", "running",
    "singing", "piano", "theatre", "poetry", "coding", "electronics", "drones", "scifi",
    "cooking", "films", "travel", "photography",
)  # fmt: skip
SYLLABLES = ("ka", "lo", "mi", "ra", "ne", "to", "su", "vi", "da", "jo", "le", "po", "ri", "an")


def names(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct pronounceable names (two or three syllables)."""
    out: dict[str, None] = {}
    while len(out) < count:
        parts = rng.choice(SYLLABLES, size=rng.integers(2, 4))
        out["".join(parts)] = None
    return list(out)


def main() -> None:
    """Draw the graph, the interests and the clubs, and write the three CSV files."""
    rng = np.random.default_rng(2026)
    size = 60
    people = names(size * len(CLUBS), rng)
    club = np.repeat(np.arange(len(CLUBS)), size)
    sociability = rng.pareto(2.5, len(people)) + 1.0  # a few popular people
    p = np.outer(sociability, sociability) / sociability.mean() ** 2
    p *= np.where(club[:, None] == club[None, :], 0.08, 0.004)
    upper = np.triu(rng.random(p.shape) < np.minimum(p, 1.0), k=1)
    src, dst = np.nonzero(upper)
    order = rng.permutation(len(src))
    here = Path(__file__).resolve().parent
    lines = [f"{people[a]},{people[b]}" for a, b in zip(src[order], dst[order], strict=True)]
    (here / "friends.csv").write_text("person,friend\n" + "\n".join(lines) + "\n")
    # each club favours five interests; everyone also has a few at random
    favoured = rng.random((len(CLUBS), len(INTERESTS))) < 0.25
    prob = np.where(favoured[club], 0.7, 0.1)
    likes = (rng.random(prob.shape) < prob).astype(int)
    rows = [f"{n}," + ",".join(map(str, r)) for n, r in zip(people, likes, strict=True)]
    (here / "friends_features.csv").write_text(
        "person," + ",".join(INTERESTS) + "\n" + "\n".join(rows) + "\n"
    )
    labels = [f"{n},{CLUBS[c]}" for n, c in zip(people, club, strict=True)]
    (here / "friends_labels.csv").write_text("person,club\n" + "\n".join(labels) + "\n")


if __name__ == "__main__":
    main()
