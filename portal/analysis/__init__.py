"""Statistics the journey pages use: interrupted time series, rates with confidence intervals."""
