"""The one report layer: typed results -> Markdown, HTML, text and JSON.

``format.py`` holds the number formatters every report uses, so a p-value, a rate, an
interval or a missing value reads the same on every page.
"""
