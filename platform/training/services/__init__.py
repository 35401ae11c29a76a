"""Training services: datasets and holdouts, runs, evaluations, promotion."""
