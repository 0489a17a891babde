"""Human judgments of explanations: collection, agreement and significance tests."""
