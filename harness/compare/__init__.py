"""``logic-claims compare``: baselines vs adapters, one report, with significance tests.

A YAML config lists *systems*: rule baselines computed from the split records
(``quantifier-rule``, ``construction-rule``, ``majority-class``) and lm-eval systems (a
model, optionally a PEFT adapter, some logic_claims tasks). ``compare`` runs lm-eval
(``harness.evaluate.run_eval``) for every (system, task) without cached results, then
writes ``report.md``, ``report.html``, ``report.json`` and ``chart.png`` under the output
directory.

==============  ==============================================================
module          what
==============  ==============================================================
``config``      the YAML schema and :func:`load_config` (errors name file and line)
``cache``       cache keys: model identity, adapter and code hashes
``runner``      :func:`plan`, :func:`run_job`, :func:`compare` (the whole command)
``results``     per-quantifier tables, clustered paired tests and Holm, :func:`build_report`
``families``    per contrast family: each system's score, clustered by generic
``cli``         ``cmd_compare``, ``--plan`` and the parser (:func:`add_commands`)
==============  ==============================================================

The report's Markdown and HTML come from :mod:`logic_claims.harness.report.compare`
(templates ``compare.md`` and ``compare.html``), the chart from
:func:`logic_claims.harness.report.compare.chart_png`, the statistics from
:mod:`logic_claims.annotations.stats`.

The cache (default ``$LOGIC_CLAIMS_CACHE/compare``) holds lm-eval's own sample files per
(system, task). A rerun with nothing changed runs no model and writes the same report,
byte for byte; a changed adapter reruns only its system.

The package exports the command (:func:`compare`, :func:`load_config`, :class:`Config`,
:class:`CompareResult`, :func:`add_commands`); everything else is imported from the module
that defines it (``from logic_claims.harness.compare.results import collect``).
"""

from __future__ import annotations

from logic_claims.harness.compare.cli import add_commands
from logic_claims.harness.compare.config import Config, load_config
from logic_claims.harness.compare.runner import CompareResult, compare

__all__ = ["CompareResult", "Config", "add_commands", "compare", "load_config"]
