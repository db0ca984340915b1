"""Example app: reads one S3 object with whatever credentials the SDK finds (here: the task role's, from
AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) through AWS_ENDPOINT_URL. Exit 0 on success, 3 when AWS refuses."""

import os
import sys

import boto3
from botocore.exceptions import ClientError

bucket, key = os.environ.get("BUCKET", "app-data"), os.environ.get("KEY", "hello.txt")
try:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
except ClientError as error:
    print(f"app: {error.response['Error']['Code']}: {error.response['Error']['Message']}", flush=True)
    sys.exit(3)
print(f"app: read s3://{bucket}/{key}: {body}", flush=True)
