"""The vault password, read exactly as Ansible reads --vault-password-file: a file's first line, or what an
executable file prints (Ansible's script convention, `*-client` scripts included), through Ansible's own
helpers, so secrets.yml is encrypted with the password ansible-playbook will decrypt it with."""

from functools import lru_cache
from pathlib import Path

from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, get_file_vault_secret

from .problems import SiteInvalid


@lru_cache(maxsize=8)
def _vault(resolved: str, modified: float) -> VaultLib:  # a changed file (or script) is read again
    try:
        secret = get_file_vault_secret(filename=resolved, vault_id=DEFAULT_VAULT_ID_MATCH, loader=DataLoader())
        secret.load()  # runs a script once; its password is kept for this process
    except AnsibleError as error:
        raise SiteInvalid([f"{resolved}: cannot read the vault password: {error.message}"]) from None
    if not secret.bytes:
        raise SiteInvalid([f"{resolved}: the vault password is empty"])
    return VaultLib([(DEFAULT_VAULT_ID_MATCH, secret)])


def vault_lib(password_file: Path) -> VaultLib:
    path = password_file.resolve()
    try:
        modified = path.stat().st_mtime
    except OSError as error:
        raise SiteInvalid([f"{password_file}: cannot read the vault password: {error.strerror}"]) from None
    return _vault(str(path), modified)
