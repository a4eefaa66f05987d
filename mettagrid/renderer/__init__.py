"""Terminal renderers of a running env (ASCII "nethack" style and the Unicode "miniscope")."""
