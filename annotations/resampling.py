"""How many bootstrap resamples the agreement coefficients' intervals take, by default.

Krippendorff's alpha's interval is a percentile bootstrap over items; ``annotate
agreement``, ``annotate calibrate`` (its ``--n-boot``) and the coefficient registry read
the default here. Nothing else lives in this module, so the command line can read it
without importing numpy or pandas (``--help`` stays fast).
"""

from __future__ import annotations

N_BOOT = 1000
"""Bootstrap resamples of alpha's interval, unless a caller (``--n-boot``) says."""
