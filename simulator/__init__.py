"""ecs-sim: run Amazon ECS task definitions locally, with both IAM roles enforced."""
