"""`python -m simulator` is `ecs-sim`."""

from .cli import main

main()
