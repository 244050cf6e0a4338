"""Physics performance: scores, ROC, efficiencies at rates, thresholds, plots."""
