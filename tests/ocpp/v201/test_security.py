"""A Security under OCPP 2.0.1 against a real v201 CSMS: security profiles 1-3 with
certificates made in the test, no downgrade, the password change, SecurityEventNotification
with 2.0.1 event names, and the certificate messages over the store 1.6 uses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from ocpp.v201 import call

from ncpa.config import ConfigError
from tests.ocpp.conftest import Agent, AgentFactory, until
from tests.ocpp.csms import Quirks
from tests.ocpp.csms201 import Csms201
from tests.ocpp.pki import Ca, _name, cert_pem
from tests.ocpp.v16.test_connection import server_tls
from tests.ocpp.v201.stories import online

KEY = "0123456789abcdef0123"
NEW_KEY = "fedcba9876543210fedcba"


def security_events(csms: Csms201) -> list[str]:
    return [m.payload["type"] for m in csms.calls("SecurityEventNotification")]


async def logged(agent: Agent, kind: str) -> None:
    """Wait until the security log holds an event of `kind`."""
    for _ in range(200):
        if any(e["type"] == kind for e in await agent.client.security.entries()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{kind} not in the security log")


def leaf(ca: Ca) -> str:
    """A certificate that is no CA and matches no key of ours."""
    key = ec.generate_private_key(ec.SECP256R1())
    return cert_pem(ca.issue(key.public_key(), _name("Somebody"))).decode()


def set_var(component: str, variable: str, value: str) -> call.SetVariables:
    return call.SetVariables(
        set_variable_data=[
            {
                "component": {"name": component},
                "variable": {"name": variable},
                "attribute_value": value,
            }
        ]
    )


async def test_profile_1_basic_auth_and_a_new_password(
    csms201_factory: Any, agent_factory: AgentFactory
) -> None:
    csms = await csms201_factory(Quirks(basic_auth=("CP1", KEY)))
    agent = await online(csms, agent_factory, security_profile=1, authorization_key=KEY)
    await csms.wait_for(
        "SecurityEventNotification", pred=lambda m: m.payload["type"] == "StartupOfTheDevice"
    )
    # A01: the CSMS sets a new BasicAuthPassword; the station reconnects with it
    csms.quirks.basic_auth = ("CP1", NEW_KEY)
    res = await csms.call(set_var("SecurityCtrlr", "BasicAuthPassword", NEW_KEY))
    assert res.set_variable_result[0]["attribute_status"] == "Accepted"
    await until(lambda: csms.connections == 2, 10, "reconnected with the new password")
    await agent.accepted()
    await csms.wait_for(
        "SecurityEventNotification",
        pred=lambda m: m.payload["type"] == "ReconfigurationOfSecurityParameters",
    )
    # write-only: never read back; too short for a password: refused, nothing changes
    got = await csms.call(
        call.GetVariables(
            get_variable_data=[
                {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
            ]
        )
    )
    assert got.get_variable_result[0]["attribute_status"] == "Rejected"
    assert "attribute_value" not in got.get_variable_result[0]
    short = await csms.call(set_var("SecurityCtrlr", "BasicAuthPassword", "short"))
    assert short.set_variable_result[0]["attribute_status"] == "Rejected"
    assert agent.client.settings.get("AuthorizationKey") == NEW_KEY


async def test_profile_1_wrong_password_is_refused_and_logged(
    csms201_factory: Any, agent_factory: AgentFactory
) -> None:
    csms = await csms201_factory(Quirks(basic_auth=("CP1", KEY)))
    agent = await agent_factory(
        csms.url, version="2.0.1", security_profile=1, authorization_key="x" * 16
    )
    await until(lambda: csms.handshakes >= 2, 10, "retries")
    assert csms.connections == 0 and not agent.client.connected.is_set()
    await logged(agent, "FailedToAuthenticateAtCentralSystem")
    # once the CSMS takes the key, the event recorded offline goes out, with its 2.0.1 name
    csms.quirks.basic_auth = ("CP1", "x" * 16)
    await agent.accepted()
    await csms.wait_for(
        "SecurityEventNotification",
        pred=lambda m: m.payload["type"] == "FailedToAuthenticateAtCsms",
    )


async def test_security_profile_is_never_lowered(
    csms201_factory: Any, agent_factory: AgentFactory
) -> None:
    csms = await csms201_factory(Quirks(basic_auth=("CP1", KEY)))
    agent = await online(csms, agent_factory, security_profile=1, authorization_key=KEY)
    res = await csms.call(set_var("SecurityCtrlr", "SecurityProfile", "0"))
    assert res.set_variable_result[0]["attribute_status"] == "Rejected"
    assert agent.client.settings.get("SecurityProfile") == "1"
    # nor through the settings engine the local API uses (2 needs wss:// and a root)
    assert await agent.client.settings.change("SecurityProfile", "0", version="2.0.1") != (
        "Accepted"
    )
    assert await agent.client.settings.change("SecurityProfile", "2", version="2.0.1") != (
        "Accepted"
    )
    assert agent.client.settings.get("SecurityProfile") == "1"


async def test_profile_2_tls_with_a_pinned_root(
    tmp_path: Path, csms201_factory: Any, agent_factory: AgentFactory
) -> None:
    ca = Ca.make()
    csms = await csms201_factory(
        Quirks(basic_auth=("CP1", KEY)), ssl_context=server_tls(tmp_path, ca)
    )
    assert csms.url.startswith("wss://")
    agent = await online(
        csms,
        agent_factory,
        security_profile=2,
        authorization_key=KEY,
        ca_file=str(ca.write_root(tmp_path)),
    )
    assert agent.client.adapter is not None
    assert agent.client.adapter.subprotocol == "ocpp2.0.1"


async def test_profile_2_refuses_a_csms_outside_the_pinned_root_and_plain_ws(
    tmp_path: Path, csms201_factory: Any, agent_factory: AgentFactory
) -> None:
    csms = await csms201_factory(Quirks(), ssl_context=server_tls(tmp_path, Ca.make("Other")))
    pinned = Ca.make().write_root(tmp_path, "pinned")
    agent = await agent_factory(
        csms.url, version="2.0.1", security_profile=2, authorization_key=KEY, ca_file=str(pinned)
    )
    await until(lambda: agent.client._backoff.failures >= 2, 10, "tls failures")
    assert csms.handshakes == 0 and not agent.client.connected.is_set()
    await logged(agent, "InvalidCentralSystemCertificate")
    # no downgrade: a TLS profile with a ws:// URL is refused before any connection
    plain = await csms201_factory(Quirks(basic_auth=("CP1", KEY)))
    with pytest.raises(ConfigError, match="wss://"):
        await agent_factory(
            plain.url, version="2.0.1", security_profile=2, authorization_key=KEY,
            ca_file=str(pinned), data_dir=tmp_path / "other",
        )  # fmt: skip
    assert plain.handshakes == 0


async def test_profile_3_mutual_tls_then_a_renewed_certificate(
    tmp_path: Path, csms201_factory: Any, agent_factory: AgentFactory
) -> None:
    """A03: TriggerMessage SignChargingStationCertificate -> SignCertificate (CSR) ->
    CertificateSigned -> the next connection uses the new certificate."""
    ca, cp_ca = Ca.make(), Ca.make("CPO Root")
    first_cert, first_key = cp_ca.write_pair(tmp_path, "factory", "CP1")
    csms = await csms201_factory(Quirks(), ssl_context=server_tls(tmp_path, ca, cp_ca))
    agent = await online(
        csms, agent_factory, security_profile=3, ca_file=str(ca.write_root(tmp_path)),
        client_cert=str(first_cert), client_key=str(first_key),
    )  # fmt: skip
    res = await csms.call(call.TriggerMessage(requested_message="SignChargingStationCertificate"))
    assert res.status == "Accepted"
    await until(lambda: bool(csms.csrs), 10, "CSR")
    sign = csms.calls("SignCertificate")[0].payload
    assert sign["certificateType"] == "ChargingStationCertificate"
    # a V2G certificate is not for us; a chain for another key is refused and logged
    v2g = await csms.call(
        call.CertificateSigned(certificate_chain="x", certificate_type="V2GCertificate")
    )
    assert v2g.status == "Rejected" and v2g.status_info["reason_code"] == "NotSupported"
    wrong = await csms.call(call.CertificateSigned(certificate_chain=leaf(cp_ca)))
    assert wrong.status == "Rejected"
    await csms.wait_for(
        "SecurityEventNotification",
        pred=lambda m: m.payload["type"] == "InvalidChargingStationCertificate",
    )
    signed = cp_ca.sign_csr(csms.csrs[0])
    chain = (cert_pem(signed) + cert_pem(cp_ca.cert)).decode()
    res = await csms.call(
        call.CertificateSigned(
            certificate_chain=chain, certificate_type="ChargingStationCertificate"
        )
    )
    assert res.status == "Accepted"
    await until(lambda: csms.connections == 2, 10, "reconnected with the new certificate")
    await agent.accepted()
    assert agent.client.target().client_cert.endswith("cp.pem")


async def test_certificates_installed_listed_deleted_over_the_shared_store(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    agent = await online(csms, agent_factory)
    none = await csms.call(call.GetInstalledCertificateIds())
    assert none.status == "NotFound"
    csms_root, maker = Ca.make("CSMS Root 2"), Ca.make("Manufacturer")
    for kind, ca in (("CSMSRootCertificate", csms_root), ("ManufacturerRootCertificate", maker)):
        pem = cert_pem(ca.cert).decode()
        res = await csms.call(call.InstallCertificate(certificate_type=kind, certificate=pem))
        assert res.status == "Accepted", kind
    v2g = await csms.call(
        call.InstallCertificate(
            certificate_type="V2GRootCertificate", certificate=cert_pem(maker.cert).decode()
        )
    )
    assert v2g.status == "Rejected" and v2g.status_info["reason_code"] == "NotSupported"
    junk = await csms.call(
        call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate="junk")
    )
    assert junk.status == "Rejected"
    not_ca = await csms.call(
        call.InstallCertificate(
            certificate_type="CSMSRootCertificate",
            certificate=leaf(maker),
        )
    )
    assert not_ca.status == "Rejected"  # not a CA certificate
    # the 1.6 names in the one store: a root installed under 2.0.1 is the 1.6 CSMS root
    certs = agent.client.certs
    assert len(certs.installed("CentralSystemRootCertificate")) == 1
    assert len(certs.installed("ManufacturerRootCertificate")) == 1
    everything = await csms.call(call.GetInstalledCertificateIds())
    kinds = sorted(c["certificate_type"] for c in everything.certificate_hash_data_chain)
    assert kinds == ["CSMSRootCertificate", "ManufacturerRootCertificate"]
    only = await csms.call(
        call.GetInstalledCertificateIds(certificate_type=["CSMSRootCertificate"])
    )
    assert len(only.certificate_hash_data_chain) == 1
    h = only.certificate_hash_data_chain[0]["certificate_hash_data"]
    assert h["hash_algorithm"] == "SHA256"
    v2g_ids = await csms.call(
        call.GetInstalledCertificateIds(certificate_type=["V2GCertificateChain"])
    )
    assert v2g_ids.status == "NotFound"
    res = await csms.call(call.DeleteCertificate(certificate_hash_data=h))
    assert res.status == "Accepted"
    again = await csms.call(call.DeleteCertificate(certificate_hash_data=h))
    assert again.status == "NotFound"
    assert certs.installed("CentralSystemRootCertificate") == []


async def test_sign_certificate_is_asked_again_until_certificate_signed(
    csms: Csms201, agent_factory: AgentFactory
) -> None:
    """A02: no CertificateSigned within CertSigningWaitMinimum: SignCertificate again,
    waiting twice as long, at most CertSigningRepeatTimes times; none after it came."""
    agent = await online(csms, agent_factory)
    res = await csms.call(
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": name},
                    "attribute_value": value,
                }
                for name, value in (
                    ("CertSigningWaitMinimum", "1"),
                    ("CertSigningRepeatTimes", "2"),
                )
            ]
        )
    )
    assert {r["attribute_status"] for r in res.set_variable_result} == {"Accepted"}
    await csms.call(call.TriggerMessage(requested_message="SignChargingStationCertificate"))
    await until(lambda: len(csms.csrs) == 3, 10, "the first CSR and two repeats")
    await asyncio.sleep(4.5)  # longer than the next doubled wait: no fourth
    assert len(csms.csrs) == 3
    # a fresh request; CertificateSigned for its CSR stops the repeats
    ca = Ca.make("CPO Root")
    await csms.call(call.TriggerMessage(requested_message="SignChargingStationCertificate"))
    await until(lambda: len(csms.csrs) == 4, 10, "CSR")
    chain = (cert_pem(ca.sign_csr(csms.csrs[-1])) + cert_pem(ca.cert)).decode()
    assert (await csms.call(call.CertificateSigned(certificate_chain=chain))).status == "Accepted"
    await asyncio.sleep(1.5)
    assert len(csms.csrs) == 4 and agent.client.certs.cp_cert.exists()
