"""The Observatory: a local web app over `train_dir/` and stats DBs (docs/observatory.md).

Top layer below tools/: it reads runs (metta.rl's files), evaluations (metta.eval) and
validates launches with tools/validate_config.py's checks; nothing imports it but tools/.
"""
