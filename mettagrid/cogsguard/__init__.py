"""CoGsGuard: the cogs-against-clips team game on MettaGrid: its missions, the world model the
scripted players read, and those players (docs/cogsguard.md). The scrimmage and diagnostics
that play them live with the `cogames` command (metta/cogames/)."""
