"""The top layer of logic-claims: running models, comparing systems, reports, the CLI.

It builds on ``tasks`` (claims, data, prompt, scoring), ``adapters`` (training) and
``annotations`` (judgments and statistics); nothing imports it. ``evaluate`` runs lm-eval,
``compare`` puts systems side by side with significance tests, ``report`` writes every
page, and ``cli`` is the ``logic-claims`` command.
"""
