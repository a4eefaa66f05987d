"""Metta: training, evaluation and tooling around the MettaGrid environment."""
