"""Core of logic-claims: data, prompt, scoring, models, evaluation runs and reports.

Data flows one way: ``data`` builds the claims, ``prompt`` formats them (for the
lm-eval tasks and the adapter trainer alike), ``scoring`` reads answers the way
the study did, ``evaluate`` runs lm-eval, and the report modules read its output.
"""
