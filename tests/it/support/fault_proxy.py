"""A fault-injecting HTTP proxy for the test suite, between the AWS SDK and moto.

It forwards every request to the emulator and, per AWS operation, can add
latency, answer errors (throttling, 500) or drop the connection, hold an EKS
cluster or node group in a status (CREATING, UPDATING, DELETING), or an EC2
resource in a state (a NAT gateway `pending`), for a while,
and count requests. It also plays what moto lacks: the tags of a
CreateBucket's configuration (put on the new bucket), and the EKS paths: version updates
(UpdateClusterVersion, UpdateNodegroupVersion, DescribeUpdate), Pod Identity
associations, add-ons (and DescribeAddonVersions from a small CATALOG), AWS's
public SSM parameters of the EKS-optimised AMIs, access
entries and their access policies, and the access configuration and upgrade
policy moto drops from a cluster, the security group EKS makes for each
cluster (a real group in moto, made with the cluster and deleted with it) and
an OIDC issuer of each cluster's own (moto gives every cluster the same one).
What it plays is kept per cluster, in memory.
Everything listens on 127.0.0.1.

    python fault_proxy.py UPSTREAM_URL PORT

Control, on the same port:
    POST /__proxy/rules   a JSON list of rules, replacing the current ones
    GET  /__proxy/counts  requests seen, by operation
    GET  /__proxy/nodegroups  every CreateNodegroup, DescribeNodegroup and
                          DeleteNodegroup in order: [op, node group, status answered]
    GET  /__proxy/timing  seconds spent waiting on the emulator, summed
    GET  /__proxy/bodies  the bodies of the last 50 requests of each operation (the
                          path and query of one without a body)
    POST /__proxy/reset   no rules, no counts, nothing it plays

A rule: {"op": "DescribeCluster", "action": ..., ...} ("*" for every operation,
"mutating" for every one that changes something) where action is one of
    "latency"  with "ms"
    "error"    with "status", "code", "message", optional "times", "probability",
               "after" (let that many through first)
    "reset"    (drop the connection) with optional "times"
    "hang"     with "ms" and optional "times": hold the request that long, then drop
               the connection without forwarding it
    "lose"     (forward the request, then drop the connection: the answer is
               lost, what it did is done) with optional "times"
    "status"   with "value" and "seconds" (from the first match) or "times":
               an EKS answer's status, or every <state> of an EC2 answer
    "require_header" with "name" and "value": answer 403 AccessDenied unless the
               request carries that header with that value (S3's
               ExpectedBucketOwner check)
    "update_fails" with "code" and "message": an UpdateNodegroupVersion is
               accepted and its DescribeUpdate answers Failed with that error
    "clock"    with "seconds": every answer's Date header is that far from this
               host's time (AWS's clock disagreeing with the host's)
Instead of "op", a rule may give "path_prefix": it matches every REST request
(S3) whose path starts so.
"""

import hashlib
import json
import random
import re
import socketserver
import sys
import threading
import time
import uuid
import http.client
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit, parse_qs, unquote, urlencode

UPSTREAM = urlsplit(sys.argv[1])
PORT = int(sys.argv[2])
LOCK = threading.Lock()
RULES = []
COUNTS = {}
BUSY = [0.0]  # seconds spent waiting on the emulator, summed over requests
VERSIONS = {}  # cluster name -> version set through the emulated update path
UPDATES = {}  # update id -> cluster name
NODEGROUP_LOG = []  # [op, node group, status in the answer], in order: a node group's lifecycle
CLUSTER_GROUPS = {}  # cluster name -> (the security group EKS made for it, its VPC)
PODS = {}  # cluster name -> {association id -> association}: EKS Pod Identity, which moto lacks
ADDONS = {}  # cluster name -> {add-on name -> add-on}: EKS add-ons, which moto lacks
ACCESS = {}  # cluster name -> accessConfig, which moto neither keeps nor answers
UPGRADE = {}  # cluster name -> upgradePolicy, which moto neither keeps nor answers
ENCRYPTION = {}  # cluster name -> encryptionConfig added later (moto has no AssociateEncryptionConfig)
ENTRIES = {}  # cluster name -> {principal ARN -> access entry}: EKS access entries, which moto lacks
POLICIES = {}  # (cluster name, principal ARN) -> {policy ARN -> associated access policy}
FAILED = {}  # update id -> the "update_fails" rule it failed by
BODIES = {}  # operation -> the bodies of its last requests, as text (what was asked)

# The add-on versions the proxy offers, newest first, each with the Kubernetes
# versions it supports (a small, made-up slice of DescribeAddonVersions).
CATALOG = {
    "coredns": [("v1.11.3-eksbuild.2", ["1.29", "1.30", "1.31", "1.32"]),
                ("v1.10.1-eksbuild.13", ["1.26", "1.27", "1.28", "1.29", "1.30"])],
    "kube-proxy": [("v1.31.2-eksbuild.3", ["1.31"]), ("v1.30.6-eksbuild.3", ["1.30"]),
                   ("v1.29.10-eksbuild.3", ["1.29"])],
    "vpc-cni": [("v1.20.4-eksbuild.2", ["1.31", "1.32", "1.33"]),
                ("v1.19.0-eksbuild.1", ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"])],
    "eks-pod-identity-agent": [("v1.3.4-eksbuild.1", ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32"])],
    "aws-ebs-csi-driver": [("v1.37.0-eksbuild.1", ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32"])],
}

# The version EKS installs by default where it is not the newest offered.
DEFAULTS = {"vpc-cni": "v1.19.0-eksbuild.1"}


def default_version(addon, kubernetes):
    """The version AWS installs for an add-on on a Kubernetes version."""
    offered = [v for v, ks in CATALOG.get(addon, []) if kubernetes in ks]
    if DEFAULTS.get(addon) in offered:
        return DEFAULTS[addon]
    return offered[0] if offered else None


# AWS's public SSM parameters for EKS-optimised AMIs, which moto lacks: the
# recommended release of each Kubernetes version.
EKS_AMI = re.compile(r"^/aws/service/eks/optimized-ami/(1\.\d+)/amazon-linux-2023/"
                     r"(x86_64|arm64)/standard/recommended/(release_version|image_id)$")
EKS_AMI_VERSIONS = ("1.28", "1.29", "1.30", "1.31", "1.32", "1.33", "1.34")


EKS_ROUTES = [
    ("POST", r"^/clusters$", "CreateCluster"),
    ("GET", r"^/clusters$", "ListClusters"),
    ("GET", r"^/clusters/[^/]+$", "DescribeCluster"),
    ("DELETE", r"^/clusters/[^/]+$", "DeleteCluster"),
    ("POST", r"^/clusters/[^/]+/updates$", "UpdateClusterVersion"),
    ("POST", r"^/clusters/[^/]+/update-config$", "UpdateClusterConfig"),
    ("POST", r"^/clusters/[^/]+/encryption-config/associate$", "AssociateEncryptionConfig"),
    ("GET", r"^/clusters/[^/]+/updates/[^/]+$", "DescribeUpdate"),
    ("POST", r"^/clusters/[^/]+/node-groups$", "CreateNodegroup"),
    ("GET", r"^/clusters/[^/]+/node-groups/[^/]+$", "DescribeNodegroup"),
    ("DELETE", r"^/clusters/[^/]+/node-groups/[^/]+$", "DeleteNodegroup"),
    ("POST", r"^/clusters/[^/]+/node-groups/[^/]+/update-config$", "UpdateNodegroupConfig"),
    ("POST", r"^/clusters/[^/]+/node-groups/[^/]+/update-version$", "UpdateNodegroupVersion"),
    ("POST", r"^/clusters/[^/]+/pod-identity-associations$", "CreatePodIdentityAssociation"),
    ("GET", r"^/clusters/[^/]+/pod-identity-associations$", "ListPodIdentityAssociations"),
    ("GET", r"^/clusters/[^/]+/pod-identity-associations/[^/]+$", "DescribePodIdentityAssociation"),
    ("POST", r"^/clusters/[^/]+/pod-identity-associations/[^/]+$", "UpdatePodIdentityAssociation"),
    ("DELETE", r"^/clusters/[^/]+/pod-identity-associations/[^/]+$", "DeletePodIdentityAssociation"),
    ("POST", r"^/clusters/[^/]+/addons$", "CreateAddon"),
    ("GET", r"^/clusters/[^/]+/addons$", "ListAddons"),
    ("GET", r"^/clusters/[^/]+/addons/[^/]+$", "DescribeAddon"),
    ("POST", r"^/clusters/[^/]+/addons/[^/]+/update$", "UpdateAddon"),
    ("DELETE", r"^/clusters/[^/]+/addons/[^/]+$", "DeleteAddon"),
    ("GET", r"^/addons/supported-versions$", "DescribeAddonVersions"),
    ("POST", r"^/clusters/[^/]+/access-entries$", "CreateAccessEntry"),
    ("GET", r"^/clusters/[^/]+/access-entries$", "ListAccessEntries"),
    ("GET", r"^/clusters/[^/]+/access-entries/[^/]+$", "DescribeAccessEntry"),
    ("POST", r"^/clusters/[^/]+/access-entries/[^/]+$", "UpdateAccessEntry"),
    ("DELETE", r"^/clusters/[^/]+/access-entries/[^/]+$", "DeleteAccessEntry"),
    ("POST", r"^/clusters/[^/]+/access-entries/[^/]+/access-policies$", "AssociateAccessPolicy"),
    ("GET", r"^/clusters/[^/]+/access-entries/[^/]+/access-policies$", "ListAssociatedAccessPolicies"),
    ("DELETE", r"^/clusters/[^/]+/access-entries/[^/]+/access-policies/[^/]+$", "DisassociateAccessPolicy"),
]


def operation(method, path, headers, body):
    target = headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    if body and b"Action=" in body[:200]:
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    bare = path.split("?")[0]
    for m, pattern, name in EKS_ROUTES:
        if m == method and re.match(pattern, bare):
            return name
    # An S3 call on a bucket names its subresource: `PUT /logs/?versioning`.
    query = path.split("?", 1)[1] if "?" in path else ""
    if query and len([p for p in bare.split("/") if p]) == 1:
        keys = [k.split("=")[0] for k in query.split("&")]
        sub = next((k for k in keys if k in S3_SUBRESOURCES), None)
        if sub:
            return f"{method} {bare}?{sub}"
    return f"{method} {bare}"


S3_SUBRESOURCES = ("acl", "cors", "delete", "encryption", "lifecycle", "list-type",
                   "location", "logging", "object-lock", "ownershipControls", "policy",
                   "publicAccessBlock", "tagging", "uploads", "versioning", "versions")


MUTATING = ("Create", "Delete", "Modify", "Put", "Attach", "Detach", "Authorize",
            "Revoke", "Register", "Deregister", "Add", "Remove", "Update", "Tag",
            "Untag", "Set", "Associate", "Disassociate", "Enable", "Disable")


def mutating(op):
    """Whether an operation changes something: by its name, or for S3's REST
    calls by their method."""
    if op.split(" ")[0] in ("PUT", "POST", "DELETE"):
        return True
    return op.startswith(MUTATING)


def matching(op):
    path = op.split(" ", 1)[1] if " " in op else None
    with LOCK:
        return [r for r in RULES
                if r.get("op") in (op, "*") or (r.get("op") == "mutating" and mutating(op))
                or (path is not None and "path_prefix" in r and path.startswith(r["path_prefix"]))]


def take(rule):
    """Whether a counted or random rule fires this time ("after": let that many
    matches through first)."""
    with LOCK:
        if rule.get("after", 0) > 0:
            rule["after"] -= 1
            return False
        if "probability" in rule and random.random() >= rule["probability"]:
            return False
        if "times" in rule:
            if rule["times"] <= 0:
                return False
            rule["times"] -= 1
        return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, payload, content_type="application/json", headers=()):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def control(self, body):
        global RULES
        if self.path == "/__proxy/rules":
            with LOCK:
                RULES = json.loads(body or b"[]")
            return self.reply(200, {"rules": len(RULES)})
        if self.path == "/__proxy/counts":
            with LOCK:
                return self.reply(200, dict(COUNTS))
        if self.path == "/__proxy/bodies":
            with LOCK:
                return self.reply(200, {k: list(v) for k, v in BODIES.items()})
        if self.path == "/__proxy/nodegroups":
            with LOCK:
                return self.reply(200, {"log": list(NODEGROUP_LOG)})
        if self.path == "/__proxy/timing":
            with LOCK:
                return self.reply(200, {"upstream_seconds": BUSY[0]})
        if self.path == "/__proxy/reset":
            with LOCK:
                RULES = []
                COUNTS.clear()
                BODIES.clear()
                BUSY[0] = 0.0
                VERSIONS.clear()
                FAILED.clear()
                PODS.clear()
                ADDONS.clear()
                ACCESS.clear()
                UPGRADE.clear()
                ENCRYPTION.clear()
                CLUSTER_GROUPS.clear()
                NODEGROUP_LOG.clear()
                ENTRIES.clear()
                POLICIES.clear()
            return self.reply(200, {})
        return self.reply(404, {})

    def handle_any(self):
        body = self.body()
        if self.path.startswith("/__proxy/"):
            return self.control(body)
        op = operation(self.command, self.path, self.headers, body)
        with LOCK:
            COUNTS[op] = COUNTS.get(op, 0) + 1
            kept = BODIES.setdefault(op, [])
            # A request without a body (a REST DELETE) is kept as its path.
            kept.append(body.decode("utf-8", "replace") if body else self.path)
            del kept[:-50]
        rules = matching(op)
        for r in rules:
            if r["action"] == "latency" and take(r):
                time.sleep(r["ms"] / 1000.0)
        for r in rules:
            if r["action"] == "require_header" and self.headers.get(r["name"]) != r["value"]:
                xml = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                return self.reply(403, xml.encode(), "application/xml")
            if r["action"] == "reset" and take(r):
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if r["action"] == "hang" and take(r):
                # Never forwarded: held, then dropped (a client killed
                # meanwhile never had it reach AWS).
                time.sleep(r.get("ms", 5000) / 1000.0)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if r["action"] == "error" and take(r):
                return self.error(r, body)
            if r["action"] == "lose" and take(r):
                self.forward(body)
                self.close_connection = True
                self.connection.shutdown(2)
                return
        emulated = self.emulate(op, body)
        if isinstance(emulated, tuple):
            status, payload, error = emulated
            return self.reply(status, payload, headers=[("x-amzn-ErrorType", error)] if error else ())
        if emulated is not None:
            return self.reply(200, emulated)
        status, headers, data = self.forward(body)
        if status == 200 and op == "CreateCluster":
            self.make_cluster_group(data)
        if status == 200 and op == "DeleteCluster":
            self.delete_cluster_group(self.path.split("?")[0].split("/")[2])
        for r in rules:
            if r["action"] == "status":
                data = self.hold(r, data)
        if op in ("CreateCluster", "DescribeCluster", "DescribeNodegroup"):
            data = self.versioned(data)
        if op in ("CreateNodegroup", "DescribeNodegroup", "DeleteNodegroup"):
            self.log_nodegroup(op, status, data)
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def date_time_string(self, timestamp=None):
        """The Date of every answer, shifted by the "clock" rules."""
        if timestamp is None:
            # Not under LOCK: answers are sent with it held. A list read is
            # atomic enough here.
            shift = sum(r.get("seconds", 0) for r in list(RULES) if r.get("action") == "clock")
            timestamp = time.time() + shift
        return super().date_time_string(timestamp)

    def error(self, r, body):
        code = r.get("code", "Throttling")
        message = r.get("message", "injected by the test proxy")
        status = r.get("status", 400)
        rest_xml = not self.headers.get("X-Amz-Target") and not body.startswith(b"Action=") \
            and b"Action=" not in body[:200] and not self.path.startswith("/clusters")
        if rest_xml:  # S3: its own error document; throttling is 503 SlowDown
            xml = f"<Error><Code>{r.get('s3_code', 'SlowDown')}</Code><Message>{message}</Message></Error>"
            return self.reply(r.get("s3_status", 503), xml.encode(), "application/xml")
        if self.headers.get("X-Amz-Target") or self.path.startswith("/clusters"):
            return self.reply(status, {"__type": code, "message": message}, "application/x-amz-json-1.1",
                              [("x-amzn-ErrorType", code)])
        if b"Version=2016-11-15" in body:  # EC2 has its own error document
            xml = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
                   f"</Error></Errors><RequestID>proxy</RequestID></Response>")
        else:
            xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                   f"<Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>")
        return self.reply(status, xml.encode(), "text/xml")

    def region(self):
        """The region the request was signed for."""
        m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", self.headers.get("Authorization", ""))
        return m.group(1) if m else "us-east-1"

    def pods(self, op, parts, body):
        """EKS Pod Identity associations, kept per cluster."""
        cluster = parts[2]
        query = parse_qs(urlsplit(self.path).query)
        region = self.region()
        with LOCK:
            held = PODS.setdefault(cluster, {})
            if op == "CreatePodIdentityAssociation":
                asked = json.loads(body or b"{}")
                for a in held.values():
                    if (a["namespace"], a["serviceAccount"]) == (asked.get("namespace"), asked.get("serviceAccount")):
                        return 409, {"message": "Association already exists"}, "ResourceInUseException"
                aid = "a-" + uuid.uuid4().hex[:17]
                a = {"clusterName": cluster, "namespace": asked.get("namespace"),
                     "serviceAccount": asked.get("serviceAccount"), "roleArn": asked.get("roleArn"),
                     "associationId": aid,
                     "associationArn": f"arn:aws:eks:{region}:123456789012:podidentityassociation/{cluster}/{aid}",
                     "tags": asked.get("tags") or {}}
                held[aid] = a
                return 200, {"association": a}, None
            if op == "ListPodIdentityAssociations":
                want = {k: query.get(k, [None])[0] for k in ("namespace", "serviceAccount")}
                found = [{k: a[k] for k in ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId", "ownerArn") if k in a}
                         for a in held.values()
                         if all(v is None or a[k] == v for k, v in want.items())]
                return 200, {"associations": found}, None
            a = held.get(parts[4])
            if a is None:
                return 404, {"message": f"Association {parts[4]} not found"}, "ResourceNotFoundException"
            if op == "UpdatePodIdentityAssociation":
                asked = json.loads(body or b"{}")
                if asked.get("roleArn"):
                    a["roleArn"] = asked["roleArn"]
            if op == "DeletePodIdentityAssociation":
                del held[parts[4]]
            return 200, {"association": a}, None

    def addons(self, op, parts, body):
        """EKS add-ons, kept per cluster; active at once (as moto's clusters are)."""
        cluster = parts[2]
        region = self.region()
        with LOCK:
            held = ADDONS.setdefault(cluster, {})
            if op == "CreateAddon":
                asked = json.loads(body or b"{}")
                name = asked.get("addonName")
                if name in held:
                    return 409, {"message": f"Addon already exists: {name}"}, "ResourceInUseException"
                kubernetes = VERSIONS.get(cluster)
                newest = default_version(name, kubernetes) or "v1.0.0-eksbuild.1"
                a = {"addonName": name, "clusterName": cluster, "status": "ACTIVE",
                     "addonVersion": asked.get("addonVersion") or newest,
                     "addonArn": f"arn:aws:eks:{region}:123456789012:addon/{cluster}/{name}/{uuid.uuid4()}",
                     "configurationValues": asked.get("configurationValues"),
                     "serviceAccountRoleArn": asked.get("serviceAccountRoleArn"),
                     "tags": asked.get("tags") or {}}
                a["podIdentityAssociations"] = self.owned_pods(cluster, a, asked.get("podIdentityAssociations") or [])
                held[name] = a
                return 200, {"addon": a}, None
            if op == "ListAddons":
                return 200, {"addons": sorted(held)}, None
            a = held.get(parts[4])
            if a is None:
                return 404, {"message": f"No addon: {parts[4]}"}, "ResourceNotFoundException"
            if op == "UpdateAddon":
                asked = json.loads(body or b"{}")
                for k in ("addonVersion", "configurationValues", "serviceAccountRoleArn"):
                    if asked.get(k) is not None:
                        a[k] = asked[k]
                if asked.get("podIdentityAssociations") is not None:
                    a["podIdentityAssociations"] = self.owned_pods(cluster, a, asked["podIdentityAssociations"])
                update = str(uuid.uuid4())
                UPDATES[update] = cluster
                return 200, {"update": {"id": update, "status": "InProgress", "type": "AddonUpdate"}}, None
            if op == "DeleteAddon":
                self.owned_pods(cluster, a, [])
                del held[parts[4]]
            return 200, {"addon": a}, None

    def access(self, op, parts, body):
        """EKS access entries and their access policies, kept per cluster. As
        on AWS, a cluster in CONFIG_MAP mode takes no entries, and node types
        take no groups or policies."""
        cluster = parts[2]
        region = self.region()
        principal = unquote(parts[4]) if len(parts) > 4 else None
        asked = json.loads(body or b"{}") if body else {}
        with LOCK:
            held = ENTRIES.setdefault(cluster, {})
            if op == "CreateAccessEntry":
                principal = asked.get("principalArn")
                if (ACCESS.get(cluster) or {}).get("authenticationMode", "CONFIG_MAP") == "CONFIG_MAP":
                    return 400, {"message": "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."}, "InvalidRequestException"
                if principal in held:
                    return 409, {"message": f"The specified access entry resource is already in use on this cluster."}, "ResourceInUseException"
                kind = asked.get("type") or "STANDARD"
                if kind != "STANDARD" and asked.get("kubernetesGroups"):
                    return 400, {"message": f"kubernetesGroups cannot be specified for type {kind}"}, "InvalidParameterException"
                name = principal.split("/")[-1]
                account = principal.split(":")[4] if principal.count(":") >= 5 else "123456789012"
                username = asked.get("username") or (
                    f"arn:aws:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}" if ":role/" in principal else principal)
                e = {"clusterName": cluster, "principalArn": principal, "type": kind,
                     "kubernetesGroups": asked.get("kubernetesGroups") or [], "username": username,
                     "accessEntryArn": f"arn:aws:eks:{region}:{account}:access-entry/{cluster}/{uuid.uuid4()}",
                     "createdAt": time.time(), "modifiedAt": time.time(), "tags": asked.get("tags") or {}}
                held[principal] = e
                return 200, {"accessEntry": e}, None
            if op == "ListAccessEntries":
                return 200, {"accessEntries": sorted(held)}, None
            e = held.get(principal)
            if e is None:
                return 404, {"message": f"The specified principalArn could not be found: {principal}"}, "ResourceNotFoundException"
            policies = POLICIES.setdefault((cluster, principal), {})
            if op == "DescribeAccessEntry":
                return 200, {"accessEntry": e}, None
            if op == "UpdateAccessEntry":
                if asked.get("kubernetesGroups") is not None:
                    e["kubernetesGroups"] = asked["kubernetesGroups"]
                if asked.get("username"):
                    e["username"] = asked["username"]
                e["modifiedAt"] = time.time()
                return 200, {"accessEntry": e}, None
            if op == "DeleteAccessEntry":
                del held[principal]
                POLICIES.pop((cluster, principal), None)
                return 200, {}, None
            if op == "AssociateAccessPolicy":
                if e["type"] != "STANDARD":
                    return 400, {"message": f"Access policies cannot be associated with an access entry of type {e['type']}"}, "InvalidRequestException"
                policy = asked.get("policyArn")
                now = time.time()
                p = policies.get(policy) or {"policyArn": policy, "associatedAt": now}
                p["accessScope"] = asked.get("accessScope") or {"type": "cluster"}
                p["modifiedAt"] = now
                policies[policy] = p
                return 200, {"clusterName": cluster, "principalArn": principal, "associatedAccessPolicy": p}, None
            if op == "ListAssociatedAccessPolicies":
                return 200, {"clusterName": cluster, "principalArn": principal,
                             "associatedAccessPolicies": list(policies.values())}, None
            if op == "DisassociateAccessPolicy":
                policy = unquote(parts[6])
                if policies.pop(policy, None) is None:
                    return 404, {"message": f"The specified policy is not associated: {policy}"}, "ResourceNotFoundException"
                return 200, {}, None
        return None

    def owned_pods(self, cluster, addon, wanted):
        """Replaces an add-on's own Pod Identity associations (LOCK held):
        their ARNs, as DescribeAddon lists them."""
        held = PODS.setdefault(cluster, {})
        for aid in [k for k, p in held.items() if p.get("ownerArn") == addon["addonArn"]]:
            del held[aid]
        arns = []
        for w in wanted:
            aid = "a-" + uuid.uuid4().hex[:17]
            arn = f"arn:aws:eks:{self.region()}:123456789012:podidentityassociation/{cluster}/{aid}"
            held[aid] = {"clusterName": cluster, "namespace": "kube-system",
                         "serviceAccount": w.get("serviceAccount"), "roleArn": w.get("roleArn"),
                         "associationId": aid, "associationArn": arn, "ownerArn": addon["addonArn"],
                         "tags": {}}
            arns.append(arn)
        return arns

    def catalog(self):
        """DescribeAddonVersions from CATALOG, filtered as AWS filters."""
        query = parse_qs(urlsplit(self.path).query)
        name = query.get("addonName", [None])[0]
        kubernetes = query.get("kubernetesVersion", [None])[0]
        addons = []
        for addon, versions in sorted(CATALOG.items()):
            if name and addon != name:
                continue
            offered = [{"addonVersion": v, "architecture": ["amd64", "arm64"],
                        "compatibilities": [{"clusterVersion": k, "platformVersions": ["*"],
                                             "defaultVersion": v == default_version(addon, k)}
                                            for k in ks],
                        "requiresConfiguration": False}
                       for v, ks in versions if not kubernetes or kubernetes in ks]
            if offered:
                addons.append({"addonName": addon, "type": "networking", "owner": "aws",
                               "publisher": "eks", "addonVersions": offered})
        return 200, {"addons": addons}, None

    def emulate(self, op, body):
        """The EKS paths moto does not implement: version updates, Pod Identity,
        add-ons."""
        parts = self.path.split("?")[0].split("/")
        if "PodIdentityAssociation" in op:
            return self.pods(op, parts, body)
        if "AccessEntr" in op or "AccessPolic" in op:
            return self.access(op, parts, body)
        if op == "CreateCluster":
            asked = json.loads(body or b"{}")
            with LOCK:
                if asked.get("version"):
                    VERSIONS[asked.get("name")] = asked["version"]
                if asked.get("accessConfig"):
                    ACCESS[asked.get("name")] = dict(asked["accessConfig"])
                UPGRADE[asked.get("name")] = dict(asked.get("upgradePolicy") or {"supportType": "EXTENDED"})
            return None
        if op == "UpdateClusterConfig" and b"upgradePolicy" in (body or b""):
            policy = json.loads(body).get("upgradePolicy") or {}
            update = str(uuid.uuid4())
            with LOCK:
                UPGRADE[parts[2]] = dict(policy)
                UPDATES[update] = parts[2]
            return {"update": {"id": update, "status": "InProgress", "type": "UpgradePolicyUpdate"}}
        if op == "UpdateClusterConfig" and b"accessConfig" in (body or b""):
            mode = (json.loads(body).get("accessConfig") or {}).get("authenticationMode")
            update = str(uuid.uuid4())
            with LOCK:
                ACCESS.setdefault(parts[2], {})["authenticationMode"] = mode
                UPDATES[update] = parts[2]
            return {"update": {"id": update, "status": "InProgress", "type": "AccessConfigUpdate"}}
        if op == "AssociateEncryptionConfig":
            config = json.loads(body or b"{}").get("encryptionConfig") or []
            update = str(uuid.uuid4())
            with LOCK:
                ENCRYPTION[parts[2]] = config
                UPDATES[update] = parts[2]
            return {"update": {"id": update, "status": "InProgress", "type": "AssociateEncryptionConfig"}}
        if op == "DescribeAddonVersions":
            return self.catalog()
        if op == "GetParameter":
            name = json.loads(body or b"{}").get("Name") or ""
            m = EKS_AMI.match(name)
            if m and m.group(1) not in EKS_AMI_VERSIONS:
                return 400, {"__type": "ParameterNotFound", "message": ""}, "ParameterNotFound"
            if m:
                kubernetes, arch, what = m.groups()
                digest = hashlib.sha256(name.encode()).hexdigest()
                value = (f"{kubernetes}.8-20251120" if what == "release_version"
                         else f"ami-{digest[:17]}")
                return {"Parameter": {"Name": name, "Type": "String", "Value": value, "Version": 7,
                                      "ARN": f"arn:aws:ssm:{self.region()}::parameter{name}",
                                      "DataType": "text"}}
        if op in ("CreateAddon", "ListAddons", "DescribeAddon", "UpdateAddon", "DeleteAddon"):
            return self.addons(op, parts, body)
        if op == "CreateNodegroup":
            # A node group made without a version runs its cluster's (moto
            # gives it a fixed default).
            asked = json.loads(body or b"{}")
            with LOCK:
                version = asked.get("version") or VERSIONS.get(parts[2])
                if asked.get("nodegroupName"):
                    # A new group: nothing of an old one of the same name.
                    VERSIONS[f"{parts[2]}/{asked['nodegroupName']}"] = {"version": version} if version else {}
            return None
        if op == "UpdateClusterVersion":
            name = parts[2]
            version = json.loads(body or b"{}").get("version")
            update = str(uuid.uuid4())
            with LOCK:
                VERSIONS[name] = version
                UPDATES[update] = name
            return {"update": {"id": update, "status": "InProgress", "type": "VersionUpdate",
                               "params": [{"type": "Version", "value": version}]}}
        if op == "UpdateNodegroupVersion":
            cluster, nodegroup = parts[2], parts[4]
            asked = json.loads(body or b"{}")
            lt = asked.get("launchTemplate") or {}
            update = str(uuid.uuid4())
            with LOCK:
                failing = next((r for r in RULES if r.get("action") == "update_fails"), None)
                if failing is None:
                    held = VERSIONS.setdefault(f"{cluster}/{nodegroup}", {})
                    if lt.get("version"):
                        held["launchTemplate"] = lt.get("version")
                    if asked.get("releaseVersion"):
                        held["releaseVersion"] = asked.get("releaseVersion")
                    if asked.get("version"):
                        held["version"] = asked.get("version")
                    UPDATES[update] = nodegroup
                else:
                    FAILED[update] = failing
            return {"update": {"id": update, "status": "InProgress", "type": "VersionUpdate"}}
        if op == "DescribeUpdate":
            update = parts[4]
            with LOCK:
                failed = FAILED.get(update)
                known = update in UPDATES
            if failed:
                return {"update": {"id": update, "status": "Failed", "type": "VersionUpdate",
                                   "errors": [{"errorCode": failed.get("code", "PodEvictionFailure"),
                                               "errorMessage": failed.get("message", "")}]}}
            if known:
                return {"update": {"id": update, "status": "Successful", "type": "VersionUpdate"}}
        return None

    def versioned(self, data):
        """Versions set through the emulated update paths."""
        try:
            doc = json.loads(data)
        except ValueError:
            return data
        if isinstance(doc.get("cluster"), dict):
            with LOCK:
                version = VERSIONS.get(doc["cluster"].get("name"))
                access = ACCESS.get(doc["cluster"].get("name"))
                upgrade = UPGRADE.get(doc["cluster"].get("name"))
                encryption = ENCRYPTION.get(doc["cluster"].get("name"))
            if upgrade:
                doc["cluster"]["upgradePolicy"] = dict(upgrade)
            if encryption:
                doc["cluster"]["encryptionConfig"] = encryption
            if version:
                doc["cluster"]["version"] = version
            if access:
                doc["cluster"]["accessConfig"] = dict(access)
            name = doc["cluster"].get("name") or ""
            with LOCK:
                group, vpc = CLUSTER_GROUPS.get(name, (None, None))
            vpc_config = doc["cluster"].setdefault("resourcesVpcConfig", {})
            if group:
                vpc_config["clusterSecurityGroupId"] = group
                vpc_config["vpcId"] = vpc
            digest = hashlib.sha256(name.encode()).hexdigest()[:32].upper()
            doc["cluster"]["identity"] = {"oidc": {
                "issuer": f"https://oidc.eks.{self.region()}.amazonaws.com/id/{digest}"}}
        if isinstance(doc.get("nodegroup"), dict):
            n = doc["nodegroup"]
            with LOCK:
                held = dict(VERSIONS.get(f"{n.get('clusterName')}/{n.get('nodegroupName')}") or {})
            if held.get("launchTemplate") and isinstance(n.get("launchTemplate"), dict):
                n["launchTemplate"]["version"] = held["launchTemplate"]
            if held.get("releaseVersion"):
                n["releaseVersion"] = held["releaseVersion"]
            if held.get("version"):
                n["version"] = held["version"]
        return json.dumps(doc).encode()

    def log_nodegroup(self, op, status, data):
        """One step of a node group's life, as its answer said it."""
        try:
            n = json.loads(data).get("nodegroup") or {}
        except ValueError:
            n = {}
        name = n.get("nodegroupName") or self.path.split("?")[0].split("/")[-1]
        with LOCK:
            NODEGROUP_LOG.append([op, name, n.get("status") if status == 200 else f"HTTP {status}"])

    def ec2(self, params):
        """One EC2 query call to the emulator, signed for this request's region."""
        params = dict(params, Version="2016-11-15")
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        auth = (f"AWS4-HMAC-SHA256 Credential=test/20260101/{self.region()}/ec2/aws4_request, "
                "SignedHeaders=host, Signature=proxy")
        conn.request("POST", "/", body=urlencode(params).encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded", "Authorization": auth})
        data = conn.getresponse().read()
        conn.close()
        return data

    def make_cluster_group(self, data):
        """The group EKS makes with every cluster, in the cluster's VPC, tagged
        as EKS tags it, and admitting itself, as AWS's does."""
        try:
            cluster = json.loads(data).get("cluster") or {}
        except ValueError:
            return
        name = cluster.get("name")
        subnets = (cluster.get("resourcesVpcConfig") or {}).get("subnetIds") or []
        if not name or not subnets:
            return
        # moto keeps no vpcId: the subnets' VPC, as AWS reports it.
        m = re.search(rb"<vpcId>(vpc-[0-9a-z]+)</vpcId>",
                      self.ec2({"Action": "DescribeSubnets", "SubnetId.1": subnets[0]}))
        if not m:
            return
        vpc = m.group(1).decode()
        suffix = hashlib.sha256(name.encode()).hexdigest()[:10]
        answer = self.ec2({
            "Action": "CreateSecurityGroup", "GroupName": f"eks-cluster-sg-{name}-{suffix}",
            "GroupDescription": "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.",
            "VpcId": vpc,
            "TagSpecification.1.ResourceType": "security-group",
            "TagSpecification.1.Tag.1.Key": "aws:eks:cluster-name",
            "TagSpecification.1.Tag.1.Value": name,
            "TagSpecification.1.Tag.2.Key": f"kubernetes.io/cluster/{name}",
            "TagSpecification.1.Tag.2.Value": "owned",
        })
        m = re.search(rb"<groupId>(sg-[0-9a-z]+)</groupId>", answer)
        if not m:
            return
        group = m.group(1).decode()
        self.ec2({"Action": "AuthorizeSecurityGroupIngress", "GroupId": group,
                  "IpPermissions.1.IpProtocol": "-1",
                  "IpPermissions.1.Groups.1.GroupId": group})
        with LOCK:
            CLUSTER_GROUPS[name] = (group, vpc)

    def delete_cluster_group(self, name):
        """Deleted with its cluster: its own rules first (it admits itself)."""
        with LOCK:
            group, _ = CLUSTER_GROUPS.pop(name, (None, None))
        if not group:
            return
        self.ec2({"Action": "RevokeSecurityGroupIngress", "GroupId": group,
                  "IpPermissions.1.IpProtocol": "-1",
                  "IpPermissions.1.Groups.1.GroupId": group})
        self.ec2({"Action": "DeleteSecurityGroup", "GroupId": group})

    def hold(self, rule, data):
        with LOCK:
            if "seconds" in rule:
                rule.setdefault("started", time.time())
                active = time.time() - rule["started"] < rule["seconds"]
            else:
                active = rule.get("times", 0) > 0
                if active:
                    rule["times"] -= 1
        if not active:
            return data
        if data.lstrip().startswith(b"<"):
            # EC2's XML (DescribeNatGateways, DescribeVpcEndpoints): every
            # <state> element of the answer.
            value = rule["value"].encode()
            return re.sub(rb"<state>[^<]*</state>", b"<state>" + value + b"</state>", data)
        try:
            doc = json.loads(data)
        except ValueError:
            return data
        for key in ("cluster", "nodegroup"):
            if isinstance(doc.get(key), dict):
                doc[key]["status"] = rule["value"]
        return json.dumps(doc).encode()

    def forward(self, body, path=None, method=None):
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "content-length")}
        method = method or self.command
        if body or method in ("POST", "PUT"):
            headers["Content-Length"] = str(len(body))
        started = time.monotonic()
        conn.request(method, path or self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = (resp.status, resp.getheaders(), data)
        conn.close()
        with LOCK:
            BUSY[0] += time.monotonic() - started
        if path is None and out[0] == 200:
            self.tag_created_bucket(body)
        return out

    def tag_created_bucket(self, body):
        """CreateBucket with tags in its configuration: AWS tags the new bucket
        (general purpose buckets, since 2025); moto ignores them, so the proxy
        puts them on it."""
        bare = self.path.split("?")[0]
        if self.command != "PUT" or "?" in self.path or len([p for p in bare.split("/") if p]) != 1:
            return
        if b"<CreateBucketConfiguration" not in body or b"<Tags>" not in body:
            return
        pairs = re.findall(rb"<Tag>\s*<Key>(.*?)</Key>\s*<Value>(.*?)</Value>\s*</Tag>", body, re.S)
        tagging = b"<Tagging><TagSet>" + b"".join(
            b"<Tag><Key>" + k + b"</Key><Value>" + v + b"</Value></Tag>" for k, v in pairs
        ) + b"</TagSet></Tagging>"
        self.forward(tagging, path=bare + "?tagging", method="PUT")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    Server(("127.0.0.1", PORT), Handler).serve_forever()
