"""Policies: the neural networks that read MettaGrid's observation tokens and choose actions.

`env_info` describes what a policy was built for (feature table, actions, window), `action_pairs`
flattens (action, arg) into one categorical, `compat` adapts a policy to a different env, and
`policy` holds the base class; `architectures` the table of architectures and `make_policy`. See docs/policies.md.
"""
