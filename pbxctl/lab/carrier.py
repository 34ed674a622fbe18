"""The `carrier` lab machine playing a SIP provider, configured by the test, not by the site.

It accepts the PBX's trunk registrations, calls the PBX on a DID through that account's registered
contact, and answers (or refuses with 503) calls from the PBX, logging who called whom over which account.
Everything goes over SSH into the machine's real Asterisk.
"""

from __future__ import annotations

import base64
import json
import shlex
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pbxctl import lab

CALL_LOG = "/var/log/asterisk/carrier-calls.log"
SPOOL_TMP = "/var/spool/asterisk/tmp"
SPOOL_OUTGOING = "/var/spool/asterisk/outgoing"
PROBE_HEADER = "X-Lab-Probe: yes"


@dataclass(frozen=True)
class TrunkAccount:
    """One SIP account the provider sells: the PBX registers with it and it owns some DIDs."""

    name: str
    username: str
    password: str
    dids: Sequence[str] = ()
    respond_503: bool = False  # refuse every call the PBX sends over this account, as a failing provider does


@dataclass(frozen=True)
class OutboundCall:
    """A call the PBX placed through the carrier, as the carrier saw it."""

    account: str
    dialled: str
    caller_id: str  # the number the carrier would show the called party (From user)
    caller_name: str
    from_header: str
    p_asserted_identity: str
    result: str  # "answered" or "503"


@dataclass(frozen=True)
class InboundCallResult:
    did: str
    answered: bool
    events: list[str] = field(default_factory=list)


class Carrier:
    def __init__(self, name: str = "carrier") -> None:
        self.machine = name
        self.machine_address = lab.hosts([name])[name].address
        self.accounts: dict[str, TrunkAccount] = {}

    # --- configuration ---

    def configure(self, accounts: Sequence[TrunkAccount], answer_seconds: int = 3) -> None:
        """Replace the provider's whole configuration with these accounts, and reload Asterisk."""
        self.accounts = {account.name: account for account in accounts}
        self._write("/etc/asterisk/pjsip.conf", _pjsip_conf(accounts))
        self._write("/etc/asterisk/extensions.conf", _extensions_conf(accounts, answer_seconds))
        # The packaged sample dialplans in other languages would add demo contexts next to ours;
        # pbx_lua refuses an empty file (and Asterisk then refuses to start), so it gets an empty table.
        self._write("/etc/asterisk/extensions.ael", "")
        self._write("/etc/asterisk/extensions.lua", "extensions = {}\nhints = {}\n")
        self._sh("systemctl is-active --quiet asterisk || systemctl start asterisk")
        self.wait_ready()
        self._cli("core reload")
        self.clear_calls()

    def clear_calls(self) -> None:
        self._sh(f"truncate -s 0 {CALL_LOG} && chown asterisk: {CALL_LOG}")

    # --- registrations ---

    def contacts(self, username: str) -> list[str]:
        """Contact URIs the PBX registered for this account's username (empty when not registered)."""
        uris = []
        # The registrar's database has the full URIs; `pjsip show contacts` truncates them to fit columns.
        for line in self._cli("database show registrar/contact").splitlines():
            key, _, value = line.partition(": ")
            if key.strip().startswith(f"/registrar/contact/{username};@") and value.strip().startswith("{"):
                uris.append(json.loads(value)["uri"])
        return uris

    def registered(self, username: str) -> bool:
        return bool(self.contacts(username))

    def wait_registered(self, username: str, timeout: float = 30) -> bool:
        return wait_until(lambda: self.registered(username), timeout)

    # --- calls from the provider to the PBX ---

    def call_did(
        self,
        did: str,
        caller_id: str,
        dtmf: str | None = None,
        wait: float = 5,
        answer_timeout: int = 20,
        account: str | None = None,
    ) -> InboundCallResult:
        """Call the PBX on `did` (through the account owning it, or the named one) from `caller_id`; after
        answer, send `dtmf` and keep the call up `wait` seconds. Blocks until the call is over."""
        found = self.accounts[account] if account else self._account_for(did)
        tag = uuid.uuid4().hex[:12]
        call_file = "\n".join(
            [
                f"Channel: PJSIP/{did}@{found.username}",
                f'CallerID: "" <{caller_id}>',
                f"WaitTime: {answer_timeout}",
                "MaxRetries: 0",
                "Context: carrier-originate",
                "Extension: answered",
                "Priority: 1",
                f"Setvar: TAG={tag}",
                f"Setvar: DTMF={dtmf or ''}",
                f"Setvar: HOLD={max(1, round(wait))}",
                "Archive: yes",
                "",
            ]
        )
        # Asterisk picks up a call file the moment it appears; it must appear whole, hence tmp + mv.
        self._write(f"{SPOOL_TMP}/{tag}.call", call_file)
        self._sh(f"chown asterisk: {SPOOL_TMP}/{tag}.call && mv {SPOOL_TMP}/{tag}.call {SPOOL_OUTGOING}/")
        deadline = answer_timeout + wait + 20
        wait_until(lambda: self._call_over(tag), deadline)
        events = self._events(tag)
        return InboundCallResult(did=did, answered="answered" in events, events=events)

    def _call_over(self, tag: str) -> bool:
        events = self._events(tag)
        return "hangup" in events or "failed" in events

    def _events(self, tag: str) -> list[str]:
        events = [fields[2] for fields in self._log_rows() if fields[:2] == ["IN", tag]]
        status = self._sh(f"cat /var/spool/asterisk/outgoing_done/{tag}.call 2>/dev/null || true")
        if "Status: Failed" in status:
            events.append("failed")
        return events

    # --- calls from the PBX to the provider ---

    def outbound_calls(self) -> list[OutboundCall]:
        calls = []
        for fields in self._log_rows():
            if fields[0] == "OUT" and len(fields) == 8:
                _, account, dialled, *encoded, result = fields
                number, name, from_header, pai = (_decoded(value) for value in encoded)
                calls.append(OutboundCall(account, dialled, number, name, from_header, pai, result))
        return calls

    # --- plumbing ---

    def _account_for(self, did: str) -> TrunkAccount:
        for account in self.accounts.values():
            if did in account.dids:
                return account
        raise KeyError(f"no carrier account owns DID {did}")

    def _log_rows(self) -> list[list[str]]:
        return [line.split("|") for line in self._sh(f"cat {CALL_LOG} 2>/dev/null || true").splitlines() if line]

    def wait_ready(self, timeout: float = 60) -> None:
        """Asterisk answers its CLI (it loads every packaged module, which takes a while after boot)."""
        if not wait_until(lambda: "Asterisk" in self._cli("core show version", check=False), timeout):
            raise RuntimeError("carrier Asterisk did not come up")

    def _cli(self, command: str, check: bool = True) -> str:
        return self._sh(f"asterisk -rx {shlex.quote(command)}", check=check)

    def _sh(self, script: str, check: bool = True) -> str:
        return lab.ssh_run(self.machine, script, timeout=60, check=check).stdout

    def _write(self, path: str, text: str) -> None:
        lab.ssh_run(self.machine, f"cat > {shlex.quote(path)}", input=text, timeout=30)


def _pjsip_conf(accounts: Sequence[TrunkAccount]) -> str:
    sections = [
        "[global]\ntype=global\nuser_agent=LabCarrier\n",
        "[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5060\n",
        # Health probes from tests (sipsak OPTIONS) carry this header and get an answer without credentials.
        f"[lab-probe]\ntype=endpoint\ncontext=lab-probe\n\n"
        f"[lab-probe-identify]\ntype=identify\nendpoint=lab-probe\nmatch_header={PROBE_HEADER}\n",
    ]
    for account in accounts:
        # Asterisk matches the digest username against endpoint names, so the endpoint is named after it.
        user = account.username
        sections.append(
            f"[{user}]\ntype=endpoint\ncontext=from-pbx-{account.name}\n"
            "disallow=all\nallow=alaw,ulaw\ndtmf_mode=rfc4733\ndirect_media=no\n"
            # Every trunk comes from the same PBX address: tell accounts apart by their credentials.
            "identify_by=auth_username,username\n"
            "trust_id_outbound=yes\n"
            # The PBX's qualify pings are keep-alives; a provider answers them without a challenge.
            "allow_unauthenticated_options=yes\n"
            f"auth={user}-auth\naors={user}\n\n"
            f"[{user}-auth]\ntype=auth\nauth_type=userpass\nusername={user}\npassword={account.password}\n\n"
            f"[{user}]\ntype=aor\nmax_contacts=1\nremove_existing=yes\n"
        )
    return "\n".join(sections)


def _extensions_conf(accounts: Sequence[TrunkAccount], answer_seconds: int) -> str:
    log = f"Set(FILE({CALL_LOG},,,al,u)="  # explicit newline format: an empty file has none to detect
    lines = [
        "[general]\nstatic=yes\nwriteprotect=yes\n",
        "[carrier-originate]",
        f"exten => answered,1,{log}IN|${{TAG}}|answered)",
        ' same => n,GotoIf($["${DTMF}" = ""]?hold)',
        " same => n,Wait(1)",
        " same => n,SendDTMF(${DTMF},250)",
        # Tones, not silence, so the PBX side has RTP to measure.
        " same => n(hold),Playtones(425)",
        " same => n,Wait(${HOLD})",
        " same => n,Hangup()",
        f"exten => h,1,{log}IN|${{TAG}}|hangup)",
        f"exten => failed,1,{log}IN|${{TAG}}|failed)",
        "",
    ]
    for account in accounts:
        # Free text (names, headers) is base64 so no quote or separator in it can break the log line.
        record = "|".join(
            [
                "OUT", account.name, "${EXTEN}",
                _encoded("${CALLERID(num)}"), _encoded("${CALLERID(name)}"),
                _encoded("${PJSIP_HEADER(read,From)}"), _encoded("${PJSIP_HEADER(read,P-Asserted-Identity)}"),
            ]
        )
        lines.append(f"[from-pbx-{account.name}]")
        if account.respond_503:
            lines += [f"exten => _[+0-9*#].,1,{log}{record}|503)", " same => n,Hangup(34)"]
        else:
            lines += [
                f"exten => _[+0-9*#].,1,{log}{record}|answered)",
                " same => n,Answer()",
                " same => n,Playtones(425)",
                f" same => n,Wait({answer_seconds})",
                " same => n,Hangup()",
            ]
        lines.append("")
    return "\n".join(lines)


def _encoded(expression: str) -> str:
    # The leading "=" keeps BASE64_ENCODE's argument non-empty; _decoded drops it again.
    return f"${{BASE64_ENCODE(={expression})}}"


def _decoded(value: str) -> str:
    return base64.b64decode(value).decode(errors="replace")[1:]


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
