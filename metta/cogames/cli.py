"""`cogames`: the command line around CoGsGuard (docs/cogsguard.md, docs/tournament.md).

  cogames play -m cogsguard_arena.basic -p role [-r gui|unicode|log] [-s STEPS]
  cogames policies
  cogames scrimmage -m cogsguard_arena.basic -p role [-e EPISODES] [-s STEPS] [--format json]
  cogames run -m cogsguard_arena.basic -p role -p random,proportion=2   (several policies share the agents)
  cogames train -m cogsguard_arena.basic --steps N --batch-size N [--device cpu] [-p lstm]
  cogames login --server URL --user NAME        (or --token TOKEN)
  cogames upload -p ./train_dir/my_run -n my-policy [-f extra/] [--dry-run]
  cogames submit my-policy[:v3] [--season beta-cogsguard]
  cogames submissions | seasons | leaderboard [--json]
"""

from __future__ import annotations

import argparse
import sys

from metta.cogames import game_commands, tournament_commands
from metta.common.cli_parser import CliParser


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="cogames", description=__doc__.splitlines()[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    game_commands.add_commands(commands)
    tournament_commands.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0 if args.command is None else 2
    return tournament_commands.run_command(args)


if __name__ == "__main__":
    sys.exit(main())
