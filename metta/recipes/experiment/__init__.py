"""Experiment recipes: `./tools/run.py recipes.experiment.<name>.<tool>` (or `<tool> <name>`)."""
