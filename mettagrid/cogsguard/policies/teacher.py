"""`teacher`: a deterministic demonstrator for behavioural cloning.

It plays `cogsguard` (same parameters: `gear`, role counts) and first shows each agent's
role as its glyph (change_glyph: 1 miner, 2 scout, 3 aligner, 4 scrambler; the "initial
vibe"), once per episode. `last_actions` holds the (action, arg) rows it returned last,
for a trainer that clones them.
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.cogsguard import CogsGuardPolicy


class TeacherPolicy(CogsGuardPolicy):
    vibe = True
