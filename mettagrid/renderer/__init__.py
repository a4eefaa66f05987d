"""Renderers of maps and running envs: terminal text (ASCII "nethack" and Unicode "miniscope") and images (Pillow, same sprite rules as the browser viewer)."""
