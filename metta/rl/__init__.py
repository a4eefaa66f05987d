"""Reinforcement learning: the PPO trainer, its rollouts, losses and checkpoints."""
