"""CoGs vs Clips (CoGsGuard) prod recipes."""
