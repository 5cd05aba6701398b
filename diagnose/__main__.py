"""`python -m diagnose ...` runs the `netwhy` command."""

from diagnose.cli import main

main()
