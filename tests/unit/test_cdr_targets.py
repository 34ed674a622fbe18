"""Call records to several systems: each target's token from secrets.yml, its own queue on the PBX, and the
amoCRM body; the sender (roles/asterisk/files/pbxctl-cdr-webhook) run here against local HTTP servers."""

import importlib.machinery
import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from pbxctl.cli import app
from pbxctl.compile import compile_site
from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid

from .conftest import MINIMAL, write_site
from .test_guard import ROOT, render

SITE = MINIMAL + """\
extensions:
  - {number: "101", name: Anna}
cdr:
  webhook: {url: "https://crm.example/cdr", auth: {header: X-Api-Key}}
  webhooks:
    - {name: erp, url: "https://erp.example/calls", timeout: 3, auth: {query: key}}
    - {name: amo, url: "https://office.amocrm.ru/api/v4/calls", format: amocrm, auth: {header: Authorization}}
    - {name: plain, url: "https://stats.example/in"}
"""


def _compiled(tmp_path, runner, site=SITE, tokens=("cdr_webhook", "cdr_erp", "cdr_amo")):
    site_file = write_site(tmp_path, site)
    for name in tokens:
        result = runner.invoke(app, ["secrets", "set", str(site_file), f"integrations.{name}.token"],
                               input=f"secret-{name}-7f3a\n")
        assert result.exit_code == 0, result.output
    out = compile_site(site_file, tmp_path / "build").out_dir
    plain = (out / "vars.yml").read_text()
    return yaml.safe_load(plain) | yaml.safe_load((out / "secrets.yml").read_text()), plain


def test_each_target_gets_its_own_token_and_none_is_in_the_plain_files(tmp_path, runner):
    variables, plain = _compiled(tmp_path, runner)
    assert "secret-" not in plain
    assert [t["name"] for t in variables["asterisk__cdr"]["targets"]] == ["webhook", "erp", "amo", "plain"]
    sender = json.loads(render("asterisk/templates/etc/pbxctl/cdr-webhook.json.j2", variables,
                               asterisk__cdr_spool="/var/spool/asterisk/pbxctl-cdr"))
    auth = {t["name"]: t["auth"] for t in sender["targets"]}
    assert auth == {
        "webhook": {"header": "X-Api-Key", "query": None, "token": "secret-cdr_webhook-7f3a"},
        "erp": {"header": None, "query": "key", "token": "secret-cdr_erp-7f3a"},
        "amo": {"header": "Authorization", "query": None, "token": "secret-cdr_amo-7f3a"},
        "plain": None,
    }
    assert [(t["format"], t["timeout"]) for t in sender["targets"]] == [
        ("pbxctl", 5), ("pbxctl", 3), ("amocrm", 5), ("pbxctl", 5)]
    # the hangup handler writes the record once targets exist
    calls = render("asterisk/templates/etc/asterisk/extensions_calls.conf.j2", variables)
    assert "pbxctl-cdr/pending/${PBX_CALL_ID}.cdr" in calls


def test_a_missing_target_token_is_named(tmp_path, runner):
    with pytest.raises(SiteInvalid) as error:
        _compiled(tmp_path, runner, tokens=("cdr_webhook",))
    assert "integrations.cdr_erp.token: missing" in str(error.value)
    assert "integrations.cdr_amo.token: missing" in str(error.value)


def test_only_webhooks_no_legacy_target(tmp_path, runner):
    site = MINIMAL + 'cdr:\n  webhooks:\n    - {name: one, url: "https://one.example/cdr"}\n'
    variables, _ = _compiled(tmp_path, runner, site=site, tokens=())
    assert [t["name"] for t in variables["asterisk__cdr"]["targets"]] == ["one"]
    assert "webhook" not in variables["asterisk__cdr"]


def test_no_target_no_record_line(tmp_path, runner):
    variables, _ = _compiled(tmp_path, runner, site=MINIMAL, tokens=())
    assert variables["asterisk__cdr"]["targets"] == []
    calls = render("asterisk/templates/etc/asterisk/extensions_calls.conf.j2", variables)
    assert "pbxctl-cdr/pending" not in calls


@pytest.mark.parametrize(("cdr", "where", "says"), [
    ('  webhook: {url: "https://a.example/x"}\n  webhooks:\n    - {name: webhook, url: "https://b.example/"}\n',
     "cdr.webhooks", "is what cdr.webhook is called"),
    ('  webhooks:\n    - {name: a, url: "https://a.example/"}\n    - {name: a, url: "https://b.example/"}\n',
     "cdr.webhooks", "is used twice"),
    ('  webhooks:\n    - {name: amo, url: "https://x.amocrm.ru/api/v4/leads", format: amocrm,'
     ' auth: {header: Authorization}}\n', "cdr.webhooks[0].url", "/api/v4/calls"),
    ('  webhooks:\n    - {name: amo, url: "https://x.amocrm.ru/api/v4/calls", format: amocrm}\n',
     "cdr.webhooks[0].auth", "Authorization"),
    ('  webhooks:\n    - {name: Bad Name, url: "https://a.example/"}\n', "cdr.webhooks[0].name", ""),
    ('  webhooks:\n    - {name: a, url: "https://a.example/?token=x"}\n', "cdr.webhooks[0].url", "auth"),
    ('  webhooks:\n    - {name: a, url: "https://a.example/", format: xml}\n', "cdr.webhooks[0].format", ""),
])
def test_validate_refuses_what_cannot_work(tmp_path, cdr, where, says):
    site_file = write_site(tmp_path, MINIMAL + "cdr:\n" + cdr)
    with pytest.raises(SiteInvalid) as error:
        load_site(site_file)
    text = str(error.value)
    assert where in text and says in text, text
    assert "site.yml:" in text  # file:line:col


# --- the sender on the PBX, run here ---------------------------------------------------------------------------

def _sender():
    path = str(ROOT / "roles/asterisk/files/pbxctl-cdr-webhook")
    spec = importlib.util.spec_from_loader("pbxctl_cdr_webhook", importlib.machinery.SourceFileLoader(
        "pbxctl_cdr_webhook", path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.got.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve(port=0):
    server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
    server.got = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


LINE = ("uniqueid=1700000000.7|linkedid=1700000000.7|direction=inbound|caller=+79165550000|callee=101|"
        "called=+74951230000|did=+74951230000|start=1700000000|duration=30|billsec=22|disposition=ANSWERED|"
        "recording=2023/11/14/in.wav|answered_on=|end=1\n")


def test_one_target_down_holds_back_nothing_and_gets_its_records_when_back(tmp_path, capsys):
    sender = _sender()
    up, down = _serve(), _serve()
    down_port = down.server_address[1]
    down.shutdown()
    down.server_close()  # nothing listens there now: connection refused
    config = {"spool": str(tmp_path), "recording_base_url": "https://pbx.example:8088/recordings/", "targets": [
        {"name": "crm", "url": f"http://127.0.0.1:{up.server_address[1]}/cdr", "timeout": 2, "format": "pbxctl",
         "auth": {"header": "X-Api-Key", "query": None, "token": "tok-crm"}},
        {"name": "amo", "url": f"http://127.0.0.1:{down_port}/api/v4/calls", "timeout": 2, "format": "amocrm",
         "auth": {"header": "Authorization", "query": None, "token": "Bearer tok-amo"}},
    ]}
    for sub in ("pending", "bad", "targets/crm/pending", "targets/crm/sent", "targets/amo/pending",
                "targets/amo/sent"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "pending" / "1700000000.7.cdr").write_text(LINE)
    (tmp_path / "pending" / "1700000001.1.cdr").write_text(LINE.replace("1700000000.7", "1700000001.1")
                                                           .replace("direction=inbound", "direction=internal"))
    sender.fan_out(config, 1e10)
    assert not list((tmp_path / "pending").iterdir())
    crm, amo = (sender.Target(config, t) for t in config["targets"])
    crm.run_once(1000.0)
    amo.run_once(1000.0)
    assert [g["body"]["uniqueid"] for g in up.got] == ["1700000000.7", "1700000001.1"]
    assert up.got[0]["headers"]["X-Api-Key"] == "tok-crm" and "Authorization" not in up.got[0]["headers"]
    assert up.got[0]["body"]["recording_url"] == "https://pbx.example:8088/recordings/2023/11/14/in.wav"
    assert sorted(p.name for p in (tmp_path / "targets/amo/pending").iterdir()) == ["1700000000.7.cdr",
                                                                                    "1700000001.1.cdr"]
    assert amo.failures == 1 and amo.next_try == 1002.0  # paused; the oldest record is tried first again
    amo.run_once(1001.0)
    assert amo.failures == 1
    back = _serve(down_port)
    amo.run_once(1002.0)
    assert amo.failures == 0 and not list((tmp_path / "targets/amo/pending").iterdir())
    # the internal call is not for amoCRM: one call note, in amoCRM's shape, with its own token
    assert len(back.got) == 1 and back.got[0]["headers"]["Authorization"] == "Bearer tok-amo"
    assert back.got[0]["body"] == [{
        "direction": "inbound", "uniq": "1700000000.7", "duration": 22, "source": "pbxctl", "phone": "+79165550000",
        "call_status": 4, "call_result": "ANSWERED", "created_at": 1700000000,
        "link": "https://pbx.example:8088/recordings/2023/11/14/in.wav"}]
    assert "tok-" not in capsys.readouterr().err  # tokens are never printed
    for server in (up, back):
        server.shutdown()
        server.server_close()


def test_amocrm_status_and_customer_number():
    sender = _sender()
    base = {"uniqueid": "1.1", "billsec": 0, "start": None, "recording_url": None, "caller": "101",
            "called": "+74951112233"}
    assert sender.amocrm(base | {"direction": "outbound", "disposition": "BUSY"})[0]["call_status"] == 7
    call = sender.amocrm(base | {"direction": "outbound", "disposition": "NO ANSWER"})[0]
    assert (call["call_status"], call["phone"]) == (6, "+74951112233") and "link" not in call
    assert sender.amocrm(base | {"direction": "internal", "disposition": "ANSWERED"}) is None
