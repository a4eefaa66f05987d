"""The argument parser of every argparse command (tools/map/*, convert_config.py, cogames,
metta, ...): a usage mistake is one line, like every other bad input.

argparse's own `error()` prints the whole usage block and then `prog: error: what`; a user
who typed one flag wrong needs the second line and where to read the rest.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are `error: <prog>: what (<prog> --help lists ...)`,
    exit code 2. Subcommand parsers made by `add_subparsers` are CliParsers too."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (`{self.prog} --help` lists the arguments)", file=sys.stderr)
        raise SystemExit(2)
