"""Simulation and evaluation: running policies on suites of envs and scoring them."""
