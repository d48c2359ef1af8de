"""`python -m pipeline` is the `digest` command."""

from pipeline.cli import main

main()
