"""Published rating data that several test modules check statistics against.

- [irrCAC] K. L. Gwet, R package irrCAC 1.0 (CRAN, 2019), data set ``cac.raw4raters``.
- [K2011] K. Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
  Annenberg School for Communication, the nominal example with missing values.
"""

import itertools

N = None  # a missing rating

# rows = units (subjects), columns = observers
RAW_4_RATERS = [
    [1, 1, N, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [N, 5, 5, 5],
    [N, N, 1, 1],
    [N, N, 3, N],
]


def naive_gwet(matrix, cats, kind):
    """Direct evaluation of Gwet (2014) eqs. by enumerating rater pairs item by item."""
    items = [[v for v in row if v is not None] for row in matrix]
    items = [it for it in items if it]
    agree = []
    for it in items:
        if len(it) >= 2:
            pairs = list(itertools.permutations(range(len(it)), 2))
            agree.append(sum(it[i] == it[j] for i, j in pairs) / len(pairs))
    pa = sum(agree) / len(agree)
    pi = [sum(it.count(c) / len(it) for it in items) / len(items) for c in cats]
    chance = {
        "ac1": sum(p * (1 - p) for p in pi) / (len(cats) - 1),  # Gwet (2008)
        "fleiss": sum(p * p for p in pi),  # Fleiss (1971)
    }
    pe = chance[kind]
    return (pa - pe) / (1 - pe), pa
