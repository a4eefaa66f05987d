"""A local tournament: a web service that stores uploaded policies, plays submitted ones
against each other in the background and ranks them per season (docs/tournament.md)."""
