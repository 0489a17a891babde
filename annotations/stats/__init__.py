"""Agreement and significance statistics, with scipy.stats-style results.

The project's one statistics module: the human-judgment reports and the benchmark
comparison (``logic-claims compare``) both take their bootstrap, McNemar test and Holm
correction from here. Every function returns a frozen dataclass with ``statistic``,
``pvalue`` (``nan`` where no test is meaningful) and ``confidence_interval`` (a
``ConfidenceInterval(low, high)`` namedtuple), so results read like ``scipy.stats`` ones.

=================  ==========================================================
module             what
=================  ==========================================================
``results``        the result objects and ``ConfidenceInterval``
``agreement``      counts tables; percent agreement, AC1, Fleiss, Krippendorff, Cohen
``intervals``      Wilson intervals, the bootstrap (percentile or BCa)
``inference``      comparisons of two systems, McNemar (mid-p, exact), Fisher, Holm
``clustered``      paired differences clustered by generic: clustered intervals, clustered
                   McNemar, design effect, power (MDD, pairs needed), clustered Wilson
``signflip``       the sign-flip test, its smallest attainable p, its inverted interval,
                   equivalence (two one-sided tests)
``ppi``            prediction-powered inference (PPI++) of a mean rater share from a
                   people's sample and a judge, clustered by generic, design-weighted
``auc``            a continuous judge's AUC against binary labels (Mann-Whitney, DeLong)
=================  ==========================================================

Input forms:

- a **counts table**: items in rows, categories in columns, cell = how many raters put that item
  in that category (the form ``statsmodels.stats.inter_rater.aggregate_raters`` returns and
  the ``krippendorff`` package calls ``value_counts``). Build one from an items x raters matrix
  of labels with :func:`counts_table`. Items rated by fewer raters simply have smaller row sums:
  that is how missing ratings are represented, and every coefficient below accepts it.
- two aligned label sequences (``None``/``NaN`` = not rated) for Cohen's kappa.
- per-unit scores in [0, 1] (the share of an item's raters who chose the positive label) for the
  comparisons between systems.

What is library code and what is not: Krippendorff's alpha is the ``krippendorff`` package,
Cohen's kappa is ``statsmodels``, Fleiss' kappa is ``statsmodels`` when every item has the same
number of raters, Wilson intervals, McNemar, Fisher, permutation tests, bootstrap and Holm are
statsmodels/scipy (the mid-p McNemar is scipy's binomial, by its definition).
Written here, because no installed library has them: Gwet's AC1, Fleiss'
kappa generalised to missing ratings, and the linearisation standard errors of AC1, Fleiss'
kappa and percent agreement, all following Gwet, *Handbook of Inter-Rater Reliability*, 4th ed.
(2014), ch. 2 and 5, and Gwet (2008), Br J Math Stat Psychol 61:29-48. The tests check them
against the published worked examples of Gwet's irrCAC package.
"""

from __future__ import annotations

from logic_claims.annotations.stats.agreement import (
    cohen_kappa,
    counts_table,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from logic_claims.annotations.stats.auc import AUCResult, auc_withheld, roc_auc
from logic_claims.annotations.stats.clustered import (
    PRIMARY_TESTS,
    cluster_interval,
    cluster_se,
    cluster_sums,
    clustered_mcnemar,
    clustered_paired_comparison,
    clustered_wilson,
    design_effect,
    interval_rule,
    min_detectable_difference,
    pairs_needed,
)
from logic_claims.annotations.stats.inference import (
    MCNEMAR_TESTS,
    fisher_exact,
    holm,
    majority_labels,
    mcnemar_exact,
    mcnemar_midp,
    paired_comparison,
    unpaired_comparison,
)
from logic_claims.annotations.stats.intervals import (
    BOOTSTRAP_METHODS,
    bootstrap_interval,
    wilson_interval,
)
from logic_claims.annotations.stats.ppi import PPIResult, ppi_difference, ppi_mean
from logic_claims.annotations.stats.results import (
    NAN_INTERVAL,
    AgreementResult,
    BootstrapResult,
    ClusteredComparison,
    ComparisonResult,
    ConfidenceInterval,
    ProportionResult,
    TestResult,
    interval_json,
)
from logic_claims.annotations.stats.signflip import (
    EXACT_MAX_GENERICS,
    equivalence_test,
    mcnemar_min_p,
    min_interval_generics,
    sign_flip_interval,
    sign_flip_min_p,
    sign_flip_test,
)

__all__ = [
    "BOOTSTRAP_METHODS",
    "EXACT_MAX_GENERICS",
    "MCNEMAR_TESTS",
    "NAN_INTERVAL",
    "PRIMARY_TESTS",
    "AUCResult",
    "AgreementResult",
    "BootstrapResult",
    "ClusteredComparison",
    "ComparisonResult",
    "ConfidenceInterval",
    "PPIResult",
    "ProportionResult",
    "TestResult",
    "auc_withheld",
    "bootstrap_interval",
    "cluster_interval",
    "cluster_se",
    "cluster_sums",
    "clustered_mcnemar",
    "clustered_paired_comparison",
    "clustered_wilson",
    "cohen_kappa",
    "counts_table",
    "design_effect",
    "equivalence_test",
    "fisher_exact",
    "fleiss_kappa",
    "gwet_ac1",
    "holm",
    "interval_json",
    "interval_rule",
    "krippendorff_alpha",
    "majority_labels",
    "mcnemar_exact",
    "mcnemar_midp",
    "mcnemar_min_p",
    "min_detectable_difference",
    "min_interval_generics",
    "paired_comparison",
    "pairs_needed",
    "percent_agreement",
    "ppi_difference",
    "ppi_mean",
    "roc_auc",
    "sign_flip_interval",
    "sign_flip_min_p",
    "sign_flip_test",
    "unpaired_comparison",
    "wilson_interval",
]
