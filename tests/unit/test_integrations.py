"""Outside systems' tokens (CRM lookup, CDR and alert webhooks): in secrets.yml only, sent where the site says."""

import yaml

from pbxctl.cli import app
from pbxctl.compile import compile_site
from pbxctl.problems import SiteInvalid

from .conftest import MINIMAL, write_site
from .test_guard import ROOT, render

TOKEN = "Bearer 9c1f-very-secret-4e2a"
SITE = MINIMAL + """\
extensions:
  - {number: "101", name: Anna}
trunks:
  - {name: city, type: sip_ip, host: 198.51.100.7, match: [198.51.100.0/24], dids: ["+74951230000"]}
inbound_routes:
  - {did: "+74951230000", target: "extension:101", crm_lookup: true}
crm:
  url: "https://crm.example/lookup?format=json"
  auth: {header: Authorization}
cdr:
  webhook:
    url: "https://crm.example/cdr"
    auth: {query: api_key}
security:
  alerts:
    webhook: "https://ops.example/alert"
    webhook_auth: {header: X-Api-Key}
"""


def compiled(tmp_path, runner, tokens=("crm", "cdr_webhook", "alerts_webhook")):
    site_file = write_site(tmp_path, SITE)
    for name in tokens:
        result = runner.invoke(app, ["secrets", "set", str(site_file), f"integrations.{name}.token"],
                               input=f"{TOKEN}-{name}\n")
        assert result.exit_code == 0, result.output
    out = compile_site(site_file, tmp_path / "build").out_dir
    return (yaml.safe_load((out / "vars.yml").read_text()) | yaml.safe_load((out / "secrets.yml").read_text()),
            (out / "vars.yml").read_text())


def test_tokens_stay_out_of_vars_and_reach_their_consumers(tmp_path, runner):
    variables, plain = compiled(tmp_path, runner)
    assert "very-secret" not in plain
    # every file of the dialplan but the one of secrets, which is rendered without logging
    dialplan = "".join(render(f"asterisk/templates/etc/asterisk/{path.name}", variables)
                       for path in sorted((ROOT / "roles/asterisk/templates/etc/asterisk").glob("extensions*.conf.j2"))
                       if path.name != "extensions_secrets.conf.j2")
    assert "very-secret" not in dialplan and "Set(CURLOPT(httpheader)=${PBX_CRM_AUTH})" in dialplan
    secret_globals = render("asterisk/templates/etc/asterisk/extensions_secrets.conf.j2", variables)
    assert f"PBX_CRM_AUTH=Authorization: {TOKEN}-crm" in secret_globals
    sender = yaml.safe_load(render("asterisk/templates/etc/pbxctl/cdr-webhook.json.j2", variables,
                                   asterisk__cdr_spool="/var/spool/asterisk/pbxctl-cdr"))
    # cdr.webhook is the target named 'webhook', its token integrations.cdr_webhook.token as before
    assert [t["name"] for t in sender["targets"]] == ["webhook"]
    assert sender["targets"][0]["auth"] == {"header": None, "query": "api_key", "token": f"{TOKEN}-cdr_webhook"}
    alerts = render("security/templates/etc/pbxctl/security-alert.conf.j2", variables,
                    security__state_dir="/var/lib/pbxctl/security")
    assert "webhook_header = X-Api-Key" in alerts and f"webhook_token = {TOKEN}-alerts_webhook" in alerts


def test_a_missing_token_is_named_and_nothing_is_compiled(tmp_path, runner):
    try:
        compiled(tmp_path, runner, tokens=("crm",))
    except SiteInvalid as error:
        text = str(error)
    else:
        raise AssertionError("compiled without the webhooks' tokens")
    assert "integrations.cdr_webhook.token: missing" in text and "integrations.alerts_webhook.token" in text
    assert not (tmp_path / "build" / "vars.yml").exists()
