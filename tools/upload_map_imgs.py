#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Upload PNG images of maps to an S3 prefix (image/png), rendering stored maps first.

  ./tools/upload_map_imgs.py --dry-run                         # what would go where
  ./tools/upload_map_imgs.py maps/ --s3-prefix=s3://bucket/map_imgs
  METTA_MAP_IMAGES_URI=s3://bucket/map_imgs ./tools/upload_map_imgs.py
"""

import sys

from metta.map.upload import main

if __name__ == "__main__":
    sys.exit(main())
