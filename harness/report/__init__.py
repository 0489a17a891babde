"""The one report layer: typed results -> Markdown, HTML, text and JSON.

``format.py`` holds the number formatters every report uses, so a p-value, a rate, an
interval or a missing value reads the same on every page. ``render.py`` renders the jinja2
templates of ``templates/`` with those formatters as filters; ``charts.py`` draws the plots
as PNG bytes. ``annotations.py`` presents the annotation reports (scores, agreement,
compare) that ``logic_claims.annotations.reports`` computes.
"""
