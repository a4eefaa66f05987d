"""Policy architectures; each module holds one encoder and its `Policy` subclass.

`fast` (default): token box + CNN. `latent_attn`: latent queries cross-attending to tokens.
Each module holds its config class too; `metta.agent.architectures` lists them and builds them (`make_policy`).
"""
