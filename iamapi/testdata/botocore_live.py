#!/usr/bin/python3
"""Drive a live webidentity IAM endpoint with botocore's real IAM client.

Run by TestHandlerBotocoreLive (botocore_live_test.go): it reads a JSON configuration on
stdin (endpoint, ca_bundle, access_key, secret_key, trust_policy, updated_policy) and prints
one JSON object with what botocore returned for each call, for the Go test to check. Errors
are reported as {"code", "status", "modeled"}; "modeled" names the botocore exception class
the client raised (client.exceptions.NoSuchEntityException, ...).
"""
import json
import sys

import botocore
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


def error(fn):
    try:
        fn()
    except ClientError as e:
        return {
            "code": e.response["Error"]["Code"],
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "modeled": type(e).__name__,
        }
    return None


def main():
    cfg = json.load(sys.stdin)
    session = botocore.session.get_session()
    client = session.create_client(
        "iam",
        region_name="us-east-1",
        endpoint_url=cfg["endpoint"],
        verify=cfg["ca_bundle"],
        aws_access_key_id=cfg["access_key"],
        aws_secret_access_key=cfg["secret_key"],
        config=Config(retries={"max_attempts": 1}),
    )
    out = {"botocore_version": botocore.__version__}

    p = client.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"],
        Tags=[{"Key": "team", "Value": "platform"}],
    )
    arn = p["OpenIDConnectProviderArn"]
    out["provider_arn"] = arn
    g = client.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    out["provider"] = {
        "Url": g["Url"],
        "ClientIDList": g["ClientIDList"],
        "ThumbprintList": g.get("ThumbprintList", []),
        "Tags": g.get("Tags", []),
        "CreateDate": g["CreateDate"].isoformat(),
    }
    client.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="my-app")
    out["client_ids"] = client.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"]

    r = client.create_role(
        RoleName="ci-deploy",
        Path="/ci/",
        AssumeRolePolicyDocument=cfg["trust_policy"],
        Description="Déploiement « CI »",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "platform"}],
    )["Role"]
    out["created"] = {
        "Arn": r["Arn"],
        "RoleId": r["RoleId"],
        "Description": r.get("Description"),
        "MaxSessionDuration": r["MaxSessionDuration"],
        "DocumentType": type(r["AssumeRolePolicyDocument"]).__name__,
        "Document": r["AssumeRolePolicyDocument"],
    }
    got = client.get_role(RoleName="ci-deploy")["Role"]
    out["got"] = {"Document": got["AssumeRolePolicyDocument"], "Tags": got.get("Tags", [])}

    for name in ("alpha", "Bravo"):
        client.create_role(RoleName=name, AssumeRolePolicyDocument=cfg["trust_policy"])
    pages = []
    for page in client.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1}):
        pages.append([x["RoleName"] for x in page["Roles"]])
    out["list_pages"] = pages

    client.update_assume_role_policy(RoleName="ci-deploy", PolicyDocument=cfg["updated_policy"])
    out["updated"] = client.get_role(RoleName="ci-deploy")["Role"]["AssumeRolePolicyDocument"]
    client.update_role(RoleName="ci-deploy", MaxSessionDuration=3600)
    d = client.update_role_description(RoleName="ci-deploy", Description="deploys")["Role"]
    out["described"] = {"Description": d.get("Description"), "MaxSessionDuration": d["MaxSessionDuration"]}
    client.tag_role(RoleName="ci-deploy", Tags=[{"Key": "env", "Value": "prod"}])
    client.untag_role(RoleName="ci-deploy", TagKeys=["team"])
    out["role_tags"] = client.list_role_tags(RoleName="ci-deploy")["Tags"]

    out["errors"] = {
        "no_such_role": error(lambda: client.get_role(RoleName="missing")),
        "duplicate_role": error(lambda: client.create_role(RoleName="CI-DEPLOY", AssumeRolePolicyDocument=cfg["trust_policy"])),
        "malformed": error(lambda: client.create_role(RoleName="bad", AssumeRolePolicyDocument="{")),
        # ThumbprintList: botocore 1.29's model still requires it.
        "invalid_input": error(lambda: client.create_open_id_connect_provider(
            Url="https://example.com:8443", ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])),
        # botocore checks lengths and ranges itself, not patterns.
        "validation": error(lambda: client.get_role(RoleName="no spaces")),
    }

    client.delete_role(RoleName="ci-deploy")
    client.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    out["after_delete"] = error(lambda: client.get_role(RoleName="ci-deploy"))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
