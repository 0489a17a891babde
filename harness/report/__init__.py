"""The one report layer: the results -> Markdown, HTML and text (``report.json`` is the
results' JSON).

``format.py`` holds the number formatters every report uses, so a p-value, a rate, an
interval or a missing value reads the same on every page. ``render.py`` renders the jinja2
templates of ``templates/`` with those formatters as filters; ``charts.py`` draws the plots
as PNG bytes. ``annotations.py`` presents the annotation reports (scores, agreement,
compare) that ``annotations/scores.py``, ``agreement.py`` and ``comparison.py`` compute;
``calibration.py`` the calibration of a judge (``annotations/calibration.py``);
``compare.py`` the comparison report of ``harness/compare``. ``table.py`` is a table as
column specs (header, cell); ``rows.py`` the typed rows an analysis returns and a table
reads. The agreement coefficients' names, titles and definitions are
``annotations/coefficients.py``.
"""
