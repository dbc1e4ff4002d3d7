"""A CloudFront distribution in moto, for tests of what the site's publisher invalidates."""

from __future__ import annotations

import boto3

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # a managed cache policy


def create_distribution(bucket: str) -> str:
    """A distribution over `bucket` (inside `mock_aws`); its id."""
    origin = {
        "Id": "site",
        "DomainName": f"{bucket}.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    config = {
        "CallerReference": "test",
        "Comment": "",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_OPTIMIZED,
        },
    }
    client = boto3.client("cloudfront", region_name="us-east-1")
    return client.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
