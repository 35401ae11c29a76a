"""Verity's detector ensemble: pure PyTorch + timm, no Django or Celery.

Entry points: `ml.ensemble.Ensemble` (serving), `ml.train.train` / `python -m ml.train`,
`ml.evaluate.evaluate` / `python -m ml.evaluate`, `python -m ml.bench`.
"""
