"""Decisions per second of the IAM engine on a realistic policy set (SPEC.md "Performance").

Prints one JSON document: decisions per second of CPU time on one core (median of several runs; CPU
time, not wall time, so other processes on a shared machine do not skew it), p50/p99 decision
latency in microseconds (CPU time too), and the size of the policy set. Run: ``python bench/bench_iam.py``.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time

from simulator.iam import AuthzRequest, PolicyKind, PolicySet, evaluate, parse_policy, principal_from_arn

ACCOUNT = "111122223333"
REGION = "us-east-1"
SERVICES = ["ssm", "secretsmanager", "kms", "s3", "logs", "ecr", "dynamodb", "sqs", "sns", "lambda"]


def _identity_statements() -> list[dict]:
    statements: list[dict] = []
    for i, svc in enumerate(SERVICES):
        statements.append(
            {
                "Sid": f"Read{svc.title().replace('-', '')}{i}",
                "Effect": "Allow",
                "Action": [f"{svc}:Get*", f"{svc}:Describe*", f"{svc}:List*"],
                "Resource": f"arn:aws:{svc}:{REGION}:{ACCOUNT}:*/app-{i}/*",
            }
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": f"{svc}:Put*",
                "Resource": f"arn:aws:{svc}:*:{ACCOUNT}:team/${{aws:PrincipalTag/team}}/*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": [REGION, "eu-west-1"]}},
            }
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": [f"{svc}:Tag*", f"{svc}:Untag*"],
                "Resource": "*",
                "Condition": {
                    "ForAllValues:StringLike": {"aws:TagKeys": ["app-*", "team"]},
                    "Bool": {"aws:SecureTransport": "true"},
                },
            }
        )
        statements.append(
            {
                "Effect": "Deny",
                "Action": f"{svc}:Delete*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}},
            }
        )
    statements += [
        {
            "Sid": "SsmParams",
            "Effect": "Allow",
            "Action": ["ssm:GetParameters", "ssm:GetParameter"],
            "Resource": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}},
        },
        {
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db-??????",
        },
        {
            "Sid": "KmsViaSsm",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",
            "Condition": {
                "StringLike": {"kms:ViaService": ["ssm.*.amazonaws.com", "secretsmanager.*.amazonaws.com"]}
            },
        },
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/app:*",
        },
        {"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "DenyOutsideHours",
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*"],
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}},
        },
    ]
    return statements


def build_policies() -> PolicySet:
    statements = _identity_statements()
    half = len(statements) // 2
    identity = [
        parse_policy({"Version": "2012-10-17", "Statement": part}, name=f"app-{n}", kind=PolicyKind.IDENTITY)
        for n, part in enumerate((statements[:half], statements[half:]))
    ]
    boundary = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": [f"{s}:*" for s in SERVICES], "Resource": "*"},
                {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringNotEqualsIfExists": {"aws:RequestedRegion": [REGION, "eu-west-1"]}},
                },
            ],
        },
        name="boundary",
        kind=PolicyKind.BOUNDARY,
    )
    scp = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": ["organizations:*", "account:*"],
                    "Resource": "*",
                },
                {
                    "Effect": "Deny",
                    "Action": "s3:PutBucketPublicAccessBlock",
                    "Resource": "*",
                    "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/admin-*"}},
                },
            ],
        },
        name="guardrails",
        kind=PolicyKind.SCP,
    )
    return PolicySet(identity=identity, boundary=boundary, scps=[scp])


def build_requests() -> list[AuthzRequest]:
    principal = principal_from_arn(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/app-task/abc123", tags={"team": "app"}
    )
    context = {
        "aws:SecureTransport": "true",
        "aws:SourceIp": "10.1.2.3",
        "aws:RequestedRegion": REGION,
        "kms:ViaService": f"ssm.{REGION}.amazonaws.com",
    }
    calls = [
        ("ssm:GetParameters", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/db-url"),
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db-AbCdEf"),
        ("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/app:log-stream:x"),
        ("ecr:GetAuthorizationToken", "*"),
        ("s3:GetObject", "arn:aws:s3:::other-bucket/key"),
        ("dynamodb:DeleteItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/app"),
        ("sqs:PutMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:team/app/queue"),
    ]
    return [AuthzRequest(principal, action, resource, context) for action, resource in calls]


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    policies = build_policies()
    requests = build_requests()
    for request in requests:  # warm the per-policy action caches, as a long-running gateway would
        evaluate(request, policies)
    rates = []
    rounds = 500
    gc.disable()  # as timeit does: measure the engine, not when the collector happens to run
    for _ in range(21):
        start = time.process_time()
        for _ in range(rounds):
            for request in requests:
                evaluate(request, policies)
        rates.append(rounds * len(requests) / (time.process_time() - start))
    latencies = []
    clock = time.perf_counter_ns
    for _ in range(500):
        for request in requests:
            t0 = clock()
            evaluate(request, policies)
            latencies.append((clock() - t0) / 1000)
    gc.enable()
    quantiles = statistics.quantiles(latencies, n=100)
    statements = sum(len(p.statements) for p in [*policies.identity, policies.boundary, *policies.scps] if p)
    print(
        json.dumps(
            {
                "benchmark": "iam.evaluate",
                "statements": statements,
                "policies": len(policies.identity) + 2,
                "distinct_requests": len(requests),
                "decisions_per_second": round(statistics.median(rates)),
                "best_run_decisions_per_second": round(max(rates)),
                "runs": len(rates),
                "clock": "process CPU time, one core, gc disabled while timing",
                "p50_us": round(statistics.median(latencies), 2),
                "p99_us": round(quantiles[98], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
