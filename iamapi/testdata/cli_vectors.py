#!/usr/bin/env python3
"""Capture IAM requests signed by the real AWS CLI as JSON test vectors.

Run: python3 cli_vectors.py > cli_vectors.json   (needs `aws` on PATH)

A loopback HTTP server records each request the CLI sends (`aws iam ... --endpoint-url`) and
answers an IAM error so the CLI stops. The CLI signs with the real clock; each vector records
its X-Amz-Date, which the Go test uses as its clock.
"""
import http.server
import json
import os
import subprocess
import sys
import threading

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
captured = []

ERROR = (b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
         b'<Code>ValidationError</Code><Message>captured</Message></Error><RequestId>0</RequestId></ErrorResponse>')


class Capture(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8")
        captured.append({
            "method": "POST",
            "url": "http://" + self.headers["Host"] + self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body,
            "signed_at": self.headers["X-Amz-Date"],
        })
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(ERROR)))
        self.end_headers()
        self.wfile.write(ERROR)

    def log_message(self, *args):
        pass


def main():
    srv = http.server.HTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d" % srv.server_address[1]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_DEFAULT_REGION="eu-central-1", AWS_MAX_ATTEMPTS="1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.example.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"oidc.example.com:sub": "système:ü ✓ & = + %"}}}]})
    calls = [
        ("cli_list_roles", ["iam", "list-roles", "--path-prefix", "/ä b/"]),
        ("cli_create_role", ["iam", "create-role", "--role-name", "cli-role", "--description", "Rôle — ✓ 'q' \"dq\" & ;",
                             "--assume-role-policy-document", policy]),
    ]
    vectors = []
    for name, args in calls:
        captured.clear()
        subprocess.run(["aws", "--endpoint-url", endpoint] + args, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (req,) = captured
        req["name"] = name
        vectors.append(req)
    version = subprocess.run(["aws", "--version"], capture_output=True, text=True)
    json.dump({"botocore_version": (version.stdout or version.stderr).strip(), "access_key_id": ACCESS_KEY,
               "secret_access_key": SECRET_KEY, "vectors": vectors}, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
