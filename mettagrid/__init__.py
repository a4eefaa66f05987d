"""MettaGrid: a fast multi-agent gridworld with a C++ core.

Nothing is imported eagerly here, so `import mettagrid` stays cheap; use
`mettagrid.config`, `mettagrid.vec_env` and `mettagrid.map_builder` directly.
"""
