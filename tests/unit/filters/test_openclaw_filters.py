import pytest
from ansible.errors import AnsibleFilterError
from openclaw_filters import backup_prune_list, node_arch, semver_satisfies, sha256_from_shasums

ENGINES = ">=24.16.0 <25 || >=26.1.0"


@pytest.mark.parametrize(
    "version,ok",
    [("24.16.0", True), ("24.21.0", True), ("24.15.9", False), ("25.0.0", False), ("26.0.9", False),
     ("26.1.0", True), ("27.0.0", True), ("22.12.0", False), ("v24.20.0", True)],
)
def test_openclaw_engine_range(version, ok):
    assert semver_satisfies(version, ENGINES) is ok


@pytest.mark.parametrize(
    "version,rng,ok",
    [("1.2.3", "^1.2.0", True), ("2.0.0", "^1.2.0", False), ("1.3.0", "~1.2.0", False), ("1.2.9", "~1.2", True),
     ("24.1.0", "24", True), ("25.0.0", "24", False), ("3.0.0", ">2 <=3", True)],
)
def test_range_operators(version, rng, ok):
    assert semver_satisfies(version, rng) is ok


def test_bad_version_names_the_value():
    with pytest.raises(AnsibleFilterError, match="'latest' is not a semantic version"):
        semver_satisfies("latest", ENGINES)
    with pytest.raises(AnsibleFilterError, match="must be a string"):
        semver_satisfies(24, ENGINES)


def test_node_arch():
    assert node_arch("x86_64") == "x64"
    assert node_arch("aarch64") == "arm64"
    with pytest.raises(AnsibleFilterError, match="no Node.js Linux build for architecture 's390x'"):
        node_arch("s390x")


SUMS = (
    "1111111111111111111111111111111111111111111111111111111111111111  node-v24.21.0-linux-arm64.tar.xz\n"
    "2222222222222222222222222222222222222222222222222222222222222222  node-v24.21.0-linux-x64.tar.xz\n"
)


def test_sha256_from_shasums_picks_the_file():
    assert sha256_from_shasums(SUMS, "node-v24.21.0-linux-x64.tar.xz") == "2" * 64


def test_sha256_from_shasums_refuses_unlisted_file():
    with pytest.raises(AnsibleFilterError, match="refusing an unverified download"):
        sha256_from_shasums(SUMS, "node-v24.21.0-linux-ppc64le.tar.xz")


class TestBackupPruneList:
    DAY = 86400
    NOW = 1_800_000_000

    def files(self, *ages_days):
        return [{"path": f"/b/a{i}.tar.gz", "mtime": self.NOW - age * self.DAY} for i, age in enumerate(ages_days)]

    def test_prunes_only_past_retention(self):
        assert backup_prune_list(self.files(1, 8, 3, 10), 7, self.NOW) == ["/b/a3.tar.gz", "/b/a1.tar.gz"]

    def test_keeps_the_newest_even_when_everything_is_old(self):
        assert backup_prune_list(self.files(40, 35, 31), 30, self.NOW) == ["/b/a0.tar.gz", "/b/a1.tar.gz"]

    def test_empty_and_single(self):
        assert backup_prune_list([], 7, self.NOW) == []
        assert backup_prune_list(self.files(100), 7, self.NOW) == []

    def test_bad_input(self):
        with pytest.raises(AnsibleFilterError, match="list of find"):
            backup_prune_list("x", 7, self.NOW)
        with pytest.raises(AnsibleFilterError, match="negative"):
            backup_prune_list([], -1, self.NOW)


def test_openclaw_systemctl_per_scope():
    from openclaw_filters import openclaw_systemctl

    assert openclaw_systemctl({"scope": "system", "user": ""}) == ["systemctl"]
    assert openclaw_systemctl({"scope": "user", "user": "alice"}) == ["systemctl", "--user", "--machine=alice@"]
    for bad in ({"scope": "user", "user": ""}, {"scope": "launchd"}, "system"):
        with pytest.raises(AnsibleFilterError, match="openclaw_systemctl"):
            openclaw_systemctl(bad)


def test_openclaw_sparkline_draws_the_series_and_marks_the_last_point():
    import xml.etree.ElementTree as ET

    from openclaw_filters import openclaw_sparkline

    svg = ET.fromstring(openclaw_sparkline([100, None, 300, 200], width=100, height=20, label="memory <MB>"))
    ns = {"s": "http://www.w3.org/2000/svg"}
    points = [tuple(map(float, p.split(","))) for p in svg.find("s:polyline", ns).get("points").split()]
    assert len(points) == 3 and points[0][0] == 3.0 and points[-1][0] == 97.0  # the gap keeps its x position
    assert points[1][1] == 3.0 and points[0][1] == 17.0  # highest at the top, lowest at the bottom
    assert svg.find("s:title", ns).text == "memory <MB>"
    assert (float(svg.find("s:circle", ns).get("cx")), float(svg.find("s:circle", ns).get("cy"))) == points[-1]
    empty = ET.fromstring(openclaw_sparkline([None, None]))
    assert empty.find("s:polyline", ns) is None and empty.get("width") == "160"
    with pytest.raises(AnsibleFilterError, match="openclaw_sparkline"):
        openclaw_sparkline("1,2,3")
