"""CoGsGuard: the cogs-against-clips team game on MettaGrid, its missions, scripted policies and
scrimmage (docs/cogsguard.md)."""
