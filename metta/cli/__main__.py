"""`python -m metta.cli ...` = `metta ...`."""

from metta.cli.main import run

if __name__ == "__main__":
    run()
