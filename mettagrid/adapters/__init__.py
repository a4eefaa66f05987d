"""Adapters from the MettaGrid core to the usual RL env interfaces.

* `mettagrid.adapters.gym_env.MettaGridGymEnv`: Gymnasium, single-agent games.
* `mettagrid.adapters.pettingzoo_env.MettaGridParallelEnv`: PettingZoo parallel API.
* `mettagrid.adapters.puffer_env.MettaGridPufferEnv`: a native PufferLib env writing
  straight into PufferLib's buffers (and `make_puffer_env`, a creator for
  `pufferlib.vector.make`).

Nothing is imported here: each adapter pulls in its own framework only when imported.
"""
