"""clear_stale_owner_lease: a restored or rehearsed copy of the state carries the leases of the process that ran when
the backup was taken; both kinds must go, or a gateway started on the copy beside the still-running source refuses."""

import sqlite3

from ansible.module_utils.openclaw_archive import clear_stale_owner_lease


def test_owner_and_agent_database_leases_are_dropped(tmp_path):
    (tmp_path / "state").mkdir()
    db = tmp_path / "state" / "openclaw.sqlite"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE state_leases (scope TEXT, lease_key TEXT, owner_pid INTEGER);
        CREATE TABLE agent_database_leases (lease_id TEXT, agent_id TEXT, path TEXT, owner_pid INTEGER);
        INSERT INTO state_leases VALUES ('gateway-owner', 'k', 1503), ('other-scope', 'k2', 1503);
        INSERT INTO agent_database_leases VALUES ('l1', 'main', '/x/openclaw-agent.sqlite', 1503);
    """)
    con.commit()
    con.close()
    assert clear_stale_owner_lease(str(tmp_path)) == 2
    con = sqlite3.connect(db)
    assert con.execute("SELECT scope FROM state_leases").fetchall() == [("other-scope",)]
    assert con.execute("SELECT COUNT(*) FROM agent_database_leases").fetchone() == (0,)


def test_a_state_without_the_tables_or_the_database_is_fine(tmp_path):
    assert clear_stale_owner_lease(str(tmp_path)) == 0
    (tmp_path / "state").mkdir()
    sqlite3.connect(tmp_path / "state" / "openclaw.sqlite").close()
    assert clear_stale_owner_lease(str(tmp_path)) == 0
