"""Documentation written once for the openclaw modules (`extends_documentation_fragment`).

In this repository the fragments are `openclaw.<name>` (ansible.cfg: doc_fragment_plugins = doc_fragments); in the
collection, `openclaw.ops.openclaw.<name>` (scripts/build-collection.py rewrites the names). A module that documents
an option again changes only what differs for it (a `required`, a description); Ansible merges the rest in. The
argument specs of these options are written once too, under the same names, in module_utils/openclaw_spec.py.
"""


class ModuleDocFragment:
    # Every module: the attributes, with what differs per module (support, details) stated in the module itself.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
    details: Runs on the gateway host; tested on Debian 12 with systemd (Ubuntu is accepted but not run here).
"""

    # The gateway's systemd unit: openclaw_health, openclaw_restore, openclaw_upgrade.
    SERVICE = r"""
options:
  unit:
    description: systemd unit of the gateway. Not given, O(gateway.unit) (none for a compose gateway), else
      C(openclaw-gateway.service).
    type: str
  scope:
    description: Whether O(unit) is a system unit or a user unit of O(user) (driven from root with C(--machine=USER@)).
      Not given, O(gateway.scope), else C(system).
    type: str
    choices: [system, user]
  user:
    description: Login user owning the user unit, required with O(scope=user). Not given, O(gateway.user).
    type: str
"""

    # The gateway's port on loopback: openclaw_health, openclaw_restore, openclaw_token, openclaw_upgrade.
    PORT = r"""
options:
  port:
    description: Gateway port; probes, gates and the authenticated probe go to it on the loopback address. Not given,
      O(gateway.port), else C(18789).
    type: int
"""

    # How long a (re)started gateway may take: openclaw_restore, openclaw_upgrade.
    READY = r"""
options:
  ready_timeout:
    description: Seconds the gateway has to become ready after a start; the way back to the previous state gets at
      least 120 s.
    type: int
    default: 120
"""

    # The installed gateway CLI and what it runs with: openclaw_health, openclaw_restore, openclaw_token.
    CLI = r"""
options:
  cli:
    description: Path of the installed C(openclaw) CLI (C(health --json), C(config validate), C(doctor),
      C(secrets reload), as the module needs). Not given, O(gateway.cli), else
      C(/opt/openclaw/current/node_modules/.bin/openclaw).
    type: path
  node_bin_dir:
    description: Directory with the C(node) binary the CLI runs on. Not given, O(gateway.node_bin_dir).
    type: path
  config_path:
    description: The gateway's C(openclaw.json) (OPENCLAW_CONFIG_PATH). Not given, O(gateway.config_path), else
      C(<state_dir>/openclaw.json) where the module needs it.
    type: path
"""

    # The state directory: openclaw_backup, openclaw_health, openclaw_restore, openclaw_token, openclaw_upgrade.
    STATE_DIR = r"""
options:
  state_dir:
    description: The gateway's state directory (OPENCLAW_STATE_DIR). Not given, O(gateway.state_dir).
    type: path
"""

    # The account that owns the gateway's state: openclaw_restore, openclaw_token, openclaw_upgrade.
    OWNER = r"""
options:
  owner:
    description: The service account (system scope) or login user (user scope) that owns the gateway's state; what the
      module writes is owned by it and the gateway CLI runs as it. Required; not given, O(gateway.owner).
    type: str
  group:
    description: Group of what the module writes into the gateway's state. Required; not given, O(gateway.group).
    type: str
"""

    # Markers the metrics collector exports: openclaw_backup (backup_success), openclaw_token (token_rotated).
    MARKER = r"""
options:
  marker_dir:
    description: Directory of the success marker the metrics collector exports (C(backup_success), C(token_rotated));
      empty to skip.
    type: path
    default: /var/lib/openclaw-ops/markers
"""

    # The token file: openclaw_health (deep check), openclaw_logs (masking), openclaw_token (rotation).
    TOKEN_FILE = r"""
options:
  token_file:
    description: The gateway token's file on the host (the file SecretRef the gateway reads). The module reads it on the
      host, so the token never passes through Ansible; what it is used for is in the module's description. Not given,
      O(gateway.token_file).
    type: path
"""

    # The engine of a compose gateway's container: openclaw_health, openclaw_restore, openclaw_token.
    ENGINE = r"""
options:
  engine:
    description: Container engine CLI for O(container). Not given, O(gateway.engine), else C(podman).
    type: str
    choices: [podman, docker]
"""

    # The gateway context, one option for every module that operates a gateway (module_utils/openclaw_spec.py).
    GATEWAY = r"""
options:
  gateway:
    description:
      - The gateway context the C(openclaw_common) role resolves on a host (the fact C(openclaw_gateway_paths),
        documented in C(roles/openclaw_common/README.md)), passed whole as C(gateway="{{ openclaw_gateway_paths }}").
      - Each option this module documents as coming from a field of O(gateway) is filled from that field unless the task
        gives the option itself; a field that is empty counts as not given.
    type: dict
    suboptions:
      cli: {description: Path of the installed C(openclaw) CLI., type: path}
      node_bin_dir: {description: Directory with the C(node) binary the CLI runs on., type: path}
      state_dir: {description: The gateway's state directory., type: path}
      config_path: {description: The gateway's C(openclaw.json)., type: path}
      token_file: {description: The gateway token's file., type: path}
      log_file: {description: The gateway's log file., type: path}
      log_dir: {description: The directory of the gateway's logs., type: path}
      owner: {description: The account that runs the gateway and owns its state., type: str}
      group: {description: Group of the gateway's state., type: str}
      unit: {description: The systemd unit of the gateway., type: str}
      scope: {description: systemd scope of the unit., type: str, choices: [system, user]}
      user: {description: Login user of a user-scope unit (empty for the system scope)., type: str}
      port: {description: The gateway's port., type: int}
      version: {description: The openclaw version the host runs., type: str}
      manager: {description: What runs the gateway., type: str, choices: [systemd, launchd, compose]}
      engine: {description: Container engine of a compose gateway (empty otherwise)., type: str}
      container: {description: Container of a compose gateway (empty otherwise)., type: str}
"""
