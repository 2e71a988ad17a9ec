"""`python -m services`: run the whole product locally on its embedded defaults (make run)."""

from services.intake.__main__ import cli

if __name__ == "__main__":
    cli(["run"])
