"""Published rating data that several test modules check statistics against.

- [irrCAC] K. L. Gwet, R package irrCAC 1.0 (CRAN, 2019), data set ``cac.raw4raters``.
- [K2011] K. Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
  Annenberg School for Communication, the nominal example with missing values.
"""

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
