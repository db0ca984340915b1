"""Phase 1: what the ECS agent does with the task execution role before any container runs.

Each resource kind is one small unit with the same shape (``units.StartUnit``): which AWS calls it
makes (shared with ``ecs-sim check``), why the execution role makes them, how it fails.
"""
