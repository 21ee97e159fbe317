from ansible.module_utils.openclaw_gateway_control import parse_unit_environment


def test_unit_environment_words_and_quoted_values():
    text = ('PATH=/opt/openclaw/node/v24.21.0/bin:/usr/bin HOME=/var/lib/openclaw '
            'NODE_COMPILE_CACHE=/var/cache/openclaw-gateway/node-compile-cache "NOTE=two words" NODE_ENV=production\n')
    env = parse_unit_environment(text)
    assert env == {"PATH": "/opt/openclaw/node/v24.21.0/bin:/usr/bin", "HOME": "/var/lib/openclaw",
                   "NODE_COMPILE_CACHE": "/var/cache/openclaw-gateway/node-compile-cache", "NOTE": "two words",
                   "NODE_ENV": "production"}


def test_unit_without_environment():
    assert parse_unit_environment("\n") == {}
