#!/usr/bin/python3
"""Generate botocore-signed IAM Query API requests as JSON test vectors.

Run with Debian's python3-botocore:  /usr/bin/python3 botocore_vectors.py > botocore_vectors.json

The IAM client is real; a before-send hook captures each signed request instead of sending it.
The clock is fixed (SIGNED_AT) and the credentials are the documentation's example keys, so
the output is reproducible for a given botocore version.
"""
import datetime
import json
import sys

import botocore
import botocore.auth
import botocore.session
from botocore.awsrequest import AWSResponse

SIGNED_AT = datetime.datetime(2026, 12, 1, 9, 30, 0)
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class _FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return SIGNED_AT

    @classmethod
    def now(cls, tz=None):
        return SIGNED_AT if tz is None else SIGNED_AT.replace(tzinfo=tz)


class _DatetimeModule:
    pass


_DatetimeModule.datetime = _FixedDatetime
_DatetimeModule.timezone = datetime.timezone
_DatetimeModule.timedelta = datetime.timedelta


botocore.auth.datetime = _DatetimeModule
if hasattr(botocore.auth, "get_current_datetime"):  # newer botocore
    botocore.auth.get_current_datetime = lambda *a, **k: SIGNED_AT


class Captured(Exception):
    pass


captured = []


def capture(request, **kwargs):
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    captured.append({
        "method": request.method,
        "url": request.url,
        "headers": [[k, v.decode() if isinstance(v, bytes) else v] for k, v in request.headers.items()],
        "body": body or "",
    })
    raise Captured()


def main():
    session = botocore.session.get_session()
    session.set_credentials(ACCESS_KEY, SECRET_KEY)
    calls = [
        ("list_roles", "https://iam.test.local:8443", "us-east-1", "list_roles", {}),
        ("list_roles_path_prefix", "https://iam.test.local:8443", "eu-west-1", "list_roles",
         {"PathPrefix": "/teams/ü/", "MaxItems": 10, "Marker": "a+b/c=d&e"}),
        ("create_role_unicode", "https://iam.test.local:8443", "us-east-1", "create_role", {
            "RoleName": "ci-deploy",
            "Path": "/ci/",
            "Description": "Déploiement — CI ✓ with spaces, 'quotes', \"dq\", & ampersand; 100% ~*",
            "AssumeRolePolicyDocument": json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/répo:*"}},
                }],
            }),
            "Tags": [{"Key": "team", "Value": "plateforme/é"}],
        }),
        ("create_oidc_provider_default_port", "https://iam.amazonaws.com", "us-east-1", "create_open_id_connect_provider", {
            "Url": "https://token.actions.githubusercontent.com",
            "ClientIDList": ["sts.amazonaws.com"],
            "ThumbprintList": ["6938fd4d98bab03faadb97b34396831e3780aea1"],
        }),
    ]
    vectors = []
    for name, endpoint, region, op, params in calls:
        client = session.create_client("iam", region_name=region, endpoint_url=endpoint)
        client.meta.events.register("before-send.iam.*", capture)
        captured.clear()
        try:
            getattr(client, op)(**params)
        except Captured:
            pass
        (req,) = captured
        req["name"] = name
        req["signed_at"] = SIGNED_AT.strftime("%Y%m%dT%H%M%SZ")
        vectors.append(req)
    json.dump({"botocore_version": botocore.__version__, "access_key_id": ACCESS_KEY,
               "secret_access_key": SECRET_KEY, "vectors": vectors}, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
