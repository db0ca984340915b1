"""ECS semantics that do not depend on Docker or HTTP: lifecycle, stop codes, failure wording."""
