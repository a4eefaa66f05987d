"""Policy architectures; each module holds one encoder and its `Policy` subclass.

`fast` (default): token box + CNN. `latent_attn`: latent queries cross-attending to tokens.
Build them with `metta.agent.policy.make_policy`.
"""
