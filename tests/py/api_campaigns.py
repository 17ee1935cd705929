#!/usr/bin/env python3
"""An independent gRPC client (grpcio) for the campaign rpcs.

Usage: api_campaigns.py HOST:PORT READ_TOKEN ADMIN_TOKEN CAMPAIGN
Generates stubs from proto/ (like api_subscribe.py), then: ListCampaigns with the read token;
StartCampaign with the read token (must be PERMISSION_DENIED); StartCampaign with the admin
token; ListCampaigns again; GetPreviewLead with the read token (PERMISSION_DENIED: it needs
`control`), then with the admin token for agent 1002 (not logged in) and for an agent that
does not exist; UpdateCampaign with the read token (PERMISSION_DENIED: it needs `admin`),
then with the admin token and ring_timeout_secs = 10 (INVALID_ARGUMENT: at least 15).
Prints one JSON object: {"before": state, "denied": code, "started": state, "after": state,
"dials": n, "preview_denied": code, "preview": code, "preview_detail": text,
"preview_unknown": code, "update_denied": code, "update_invalid": code,
"update_detail": text}. Exits 1 on an unexpected RPC error.
"""
import json
import os
import sys
import tempfile

from grpc_tools import protoc
import grpc

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")


def stubs(out):
    files = ["switchboard/v1/types.proto", "switchboard/v1/events.proto",
             "switchboard/v1/control.proto"]
    proto_include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    rc = protoc.main(["grpc_tools.protoc", f"-I{ROOT}", f"-I{proto_include}",
                      f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if rc != 0:
        sys.exit(f"protoc failed: {rc}")
    sys.path.insert(0, out)


def main():
    addr, read, admin, name = sys.argv[1:5]
    with tempfile.TemporaryDirectory() as out:
        stubs(out)
        from switchboard.v1 import control_pb2, control_pb2_grpc

        def auth(token):
            return [("authorization", f"Bearer {token}")]

        with grpc.insecure_channel(addr) as ch:
            # The daemon answers SIP before its API task may have bound: wait for it.
            grpc.channel_ready_future(ch).result(timeout=10)
            c = control_pb2_grpc.ControlStub(ch)

            def state(token):
                r = c.ListCampaigns(control_pb2.ListCampaignsRequest(), metadata=auth(token),
                                    timeout=10)
                return next(x for x in r.campaigns if x.name == name)

            result = {"before": state(read).state}
            try:
                c.StartCampaign(control_pb2.CampaignRequest(campaign=name), metadata=auth(read),
                                timeout=10)
                result["denied"] = "OK"
            except grpc.RpcError as e:
                result["denied"] = e.code().name
            r = c.StartCampaign(control_pb2.CampaignRequest(campaign=name),
                                metadata=auth(admin), timeout=10)
            result["started"] = r.campaign.state
            after = state(read)
            result["after"] = after.state
            result["dials"] = after.dials

            def preview(token, agent):
                try:
                    r = c.GetPreviewLead(control_pb2.GetPreviewLeadRequest(agent=agent),
                                         metadata=auth(token), timeout=10)
                    return "OK", r.lead.number
                except grpc.RpcError as e:
                    return e.code().name, e.details()

            result["preview_denied"] = preview(read, "1002")[0]
            result["preview"], result["preview_detail"] = preview(admin, "1002")
            result["preview_unknown"] = preview(admin, "nobody")[0]

            def update(token, **fields):
                try:
                    c.UpdateCampaign(control_pb2.UpdateCampaignRequest(campaign=name, **fields),
                                     metadata=auth(token), timeout=10)
                    return "OK", ""
                except grpc.RpcError as e:
                    return e.code().name, e.details()

            result["update_denied"] = update(read, caller_id="+15550001111")[0]
            result["update_invalid"], result["update_detail"] = update(
                admin, ring_timeout_secs=10)
            print(json.dumps(result), flush=True)
            return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        print(json.dumps({"error": str(e.code()), "details": e.details()}), flush=True)
        sys.exit(1)
