"""Shipping checks: the Dockerfile, compose fleet, systemd unit, install and smoke scripts, .env.example, Prometheus
and Grafana files agree with the code and with the binary they ship.

Binaries come from CGW_BIN_DIR (default .build/release, where `scripts/build.sh` leaves them). fake-cerebras is
looked up there first, then in .build/debug (`swift build` builds every product there), since the release build
script builds only the gateway. Checks that need a tool this machine lacks (systemd-analyze, nginx, promtool,
dpkg/apt-cache, PyYAML) or a binary not built yet are skipped with the reason.
"""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ManagedProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("CGW_BIN_DIR", ROOT / ".build" / "release"))
GATEWAY = BIN_DIR / "cerebras-gateway"
SMOKE_KEY = "ship-smoke-key"

DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
UNIT = ROOT / "systemd" / "cerebras-gateway.service"
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "cerebras-gateway.json"
CONFIG_OPTION = ROOT / "Sources" / "Shared" / "Config" / "ConfigOption.swift"
METRIC_FAMILY = ROOT / "Sources" / "Shared" / "Metrics" / "MetricFamily.swift"
# Every shell script in the repository, by its path from the root. A library that is only sourced (no `#!` line,
# not executable) declares its shell with a `# shellcheck shell=bash` directive instead.
SCRIPTS = sorted(
    str(path.relative_to(ROOT))
    for folder in ("scripts", "Benchmarks/scripts", ".ci")
    for path in (ROOT / folder).iterdir()
    if path.suffix == ".sh" or path.name == "run"
)

# Shared libraries every Debian image has: libc6 (libc, libm, libresolv, the dynamic loader), libgcc-s1 and
# libstdc++6 are in debian:bookworm-slim already (apt itself needs them).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}


def need_gateway():
    if not GATEWAY.exists():
        pytest.skip(f"{GATEWAY} is not built yet (scripts/build.sh --release, or set CGW_BIN_DIR)")
    return GATEWAY


def fake_cerebras_path() -> Path:
    for directory in (BIN_DIR, ROOT / ".build" / "debug", ROOT / ".build" / "release"):
        if (directory / "fake-cerebras").exists():
            return directory / "fake-cerebras"
    pytest.skip("fake-cerebras is not built (swift build --product fake-cerebras)")


def load_yaml(path: Path):
    """Parsed YAML: with PyYAML when this interpreter has it, else through a system python3 that has it."""
    try:
        import yaml
    except ImportError:
        for python in ("/usr/bin/python3", shutil.which("python3")):
            if not python or not os.path.exists(python):
                continue
            result = subprocess.run(
                [python, "-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                 str(path)], capture_output=True, text=True)
            if result.returncode == 0:
                return json.loads(result.stdout)
        pytest.skip("PyYAML is needed to parse the compose and Prometheus files (pip install pyyaml)")
    return yaml.safe_load(path.read_text())


# ---- parsing helpers --------------------------------------------------------------------------------------------


def config_options():
    """(name, literal default or None when computed, group) for every ConfigOption `.init(…)` entry."""
    source = CONFIG_OPTION.read_text()
    options = []
    for match in re.finditer(r'\.init\("([A-Z0-9_]+)",(.*?)\),?\s*$', source, re.MULTILINE):
        name, rest = match.group(1), match.group(2)
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', rest)
        literal = re.match(r'\s*"((?:[^"\\]|\\.)*)"\s*,', rest)
        options.append((name, literal.group(1) if literal else None, strings[-1]))
    names = re.findall(r'\.init\("([A-Z0-9_]+)"', source)
    assert [o[0] for o in options] == names, "could not parse every ConfigOption entry"
    assert len(names) > 30
    return options


def metric_names():
    """Full names of every MetricFamily, with their kind."""
    source = METRIC_FAMILY.read_text()
    prefix = re.search(r'static let prefix = "([a-z_]+)"', source).group(1)
    families = {prefix + name: kind for name, kind in re.findall(r'MetricFamily\("([a-z_]+)", \.(\w+)', source)}
    assert len(families) >= 15
    return families


def dockerfile_stages():
    """[(from_line, [instructions])] with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        if not current and raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1].strip() + " "
            continue
        current += raw.strip()
        if current.strip():
            lines.append(current.strip())
        current = ""
    stages = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append((line, []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def apt_install_packages(instructions):
    packages = []
    for instruction in instructions:
        if not instruction.upper().startswith("RUN ") or "apt-get install" not in instruction:
            continue
        tail = instruction.split("apt-get install", 1)[1]
        for token in tail.split():
            if token in ("&&", ";", "||", "|") or token.endswith(";"):
                break
            if not token.startswith("-"):
                packages.append(token)
    return packages


def dockerfile_env(instructions):
    env = {}
    for instruction in instructions:
        if instruction.upper().startswith("ENV "):
            for pair in instruction[4:].split():
                if "=" in pair:
                    key, value = pair.split("=", 1)
                    env[key] = value.strip('"')
    return env


def unit_settings():
    settings = {}
    section = None
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, value = line.split("=", 1)
        settings.setdefault((section, key), []).append(value)
    return settings


def env_example_assignments():
    """name → (value, commented, section) for every `NAME=value` or `# NAME=value` line."""
    assignments = {}
    section = None
    for line in ENV_EXAMPLE.read_text().splitlines():
        header = re.match(r"#\s*-{3,}\s*(.+?)\s*-{3,}", line)
        if header:
            section = header.group(1)
            continue
        match = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            name = match.group(2)
            assert name not in assignments, f"{name} appears twice in .env.example"
            assignments[name] = (match.group(3), bool(match.group(1)), section)
    return assignments


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)\s*(s|sec|min|m)?", text.strip())
    assert match, f"cannot read a duration from {text!r}"
    return float(match.group(1)) * (60 if match.group(2) in ("min", "m") else 1)


# ---- Dockerfile -------------------------------------------------------------------------------------------------


def test_dockerfile_builds_with_build_script():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "expected a multi-stage Dockerfile"
    build_from, build = stages[0]
    runtime_from, runtime = stages[-1]
    text = DOCKERFILE.read_text()
    swift_image = re.search(r"ARG SWIFT_IMAGE=(\S+)", text)
    builder = swift_image.group(1) if "${SWIFT_IMAGE}" in build_from else build_from.split()[1]
    assert re.fullmatch(r"swift:6\.\d+(\.\d+)?-bookworm", builder), f"builder image {builder}"
    assert runtime_from.split()[1] == "debian:bookworm-slim"

    runs = [i for i in build if i.startswith("RUN ")]
    assert any(re.search(r"(^|\s|\()scripts/build\.sh --release\b", i) for i in runs), runs
    assert not any("swift build" in i for i in runs), "the build stage must build through scripts/build.sh only"
    assert any(i.startswith("COPY --from=build") for i in runtime)

    build_script = (ROOT / "scripts" / "build.sh").read_text()
    assert "scripts/install-deps.sh" in build_script
    assert "--static-swift-stdlib" in build_script
    assert "products=(cerebras-gateway)" in build_script
    help_run = subprocess.run(["bash", "scripts/build.sh", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert help_run.returncode == 0 and "--release" in help_run.stdout


def test_dockerfile_runtime_contract():
    _, runtime = dockerfile_stages()[-1]
    env = dockerfile_env(runtime)
    assert env.get("HOST") == "0.0.0.0" and env.get("ADMIN_HOST") == "0.0.0.0"
    # The drain must end before Docker's default 10 s stop timeout turns into SIGKILL.
    assert 0 < int(env["DRAIN_TIMEOUT_SECONDS"]) < 10
    users = [i.split()[1] for i in runtime if i.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    exposed = {p for i in runtime if i.startswith("EXPOSE ") for p in i.split()[1:]}
    assert {"8080", "9090"} <= exposed
    assert "STOPSIGNAL SIGTERM" in runtime
    assert any(i.startswith("HEALTHCHECK ") and "/health" in i for i in runtime)
    assert 'ENTRYPOINT ["/usr/local/bin/cerebras-gateway"]' in runtime
    packages = apt_install_packages(runtime)
    assert {"libcurl4", "libhiredis0.14", "ca-certificates"} <= set(packages), packages
    assert "curl" not in packages, "the healthcheck uses bash's /dev/tcp; curl is not needed"

    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".build", ".env"):
        assert entry in ignored, f".dockerignore must exclude {entry}"


def healthcheck_command():
    for instruction in dockerfile_stages()[-1][1]:
        if instruction.startswith("HEALTHCHECK "):
            return json.loads(instruction.split(" CMD ", 1)[1])
    raise AssertionError("no HEALTHCHECK")


def test_runtime_packages_provide_every_shared_library():
    """Every library `ldd` resolves for the release binary, and for the libcurl.so.4 its workers open, comes from
    the runtime stage's packages (or their dependencies, as apt would install them), or from the base image (libc6,
    libgcc-s1, libstdc++6)."""
    binary = need_gateway()
    for tool in ("ldd", "ldconfig", "dpkg", "apt-cache"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not available")
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "not found" not in ldd, ldd
    libraries = re.findall(r"=>\s+(/\S+)", ldd)
    assert not any("/swift/" in lib or "libswiftCore" in lib for lib in libraries), \
        "the Swift runtime should be linked statically (--static-swift-stdlib)"
    # libcurl is not linked: the workers open libcurl.so.4 at run time (the master never loads it). So the runtime
    # image must provide it and everything it links, as the dynamic loader would find them.
    assert not any("libcurl" in lib for lib in libraries), ldd
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    curl = re.search(r"^\s*libcurl\.so\.4 \(.*\) => (/\S+)$", cache, re.MULTILINE)
    assert curl, "libcurl.so.4 is not in the loader's cache (install libcurl4)"
    curl_ldd = subprocess.run(["ldd", curl.group(1)], capture_output=True, text=True, check=True).stdout
    assert "not found" not in curl_ldd, curl_ldd
    libraries += [curl.group(1)] + re.findall(r"=>\s+(/\S+)", curl_ldd)

    runtime_packages = apt_install_packages(dockerfile_stages()[-1][1])
    depends = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
         "--no-breaks", "--no-replaces", "--no-enhances", *runtime_packages],
        capture_output=True, text=True)
    if depends.returncode != 0:
        pytest.skip(f"apt-cache depends failed (run apt-get update?): {depends.stderr[-300:]}")
    closure = {line.strip() for line in depends.stdout.splitlines() if line and not line.startswith(" ")}
    assert set(runtime_packages) <= closure, f"apt does not know {set(runtime_packages) - closure}"
    provided = closure | BASE_IMAGE_PACKAGES

    def owners(path):
        real = os.path.realpath(path)
        candidates = [path, real]
        for p in (path, real):  # usrmerge: dpkg may have registered either spelling
            candidates.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
        for candidate in candidates:
            result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if result.returncode == 0:
                first = result.stdout.splitlines()[0]
                return {name.strip().split(":")[0] for name in first.rsplit(": ", 1)[0].split(",")}
        return set()

    missing = {}
    for library in libraries:
        packages = owners(library)
        assert packages, f"no Debian package owns {library}"
        if not packages & provided:
            missing[library] = sorted(packages)
    assert not missing, f"libraries the runtime image would lack (add their packages to the Dockerfile): {missing}"


def readelf(binary: Path, option: str) -> str:
    """What `readelf --wide <option>` prints about `binary`; the test is skipped where readelf is missing."""
    if not shutil.which("readelf"):
        pytest.skip("readelf is not installed")
    return subprocess.run(["readelf", "--wide", option, str(binary)], capture_output=True, text=True, check=True).stdout


def defined_symbols(binary: Path, table: str) -> list[tuple[str, int, int, str]]:
    """(type, address, size, name) of each symbol `binary` defines in a symbol table (`--syms` or `--dyn-syms`)."""
    symbols = []
    # "  1234: 000000000022e1e0  4240 FUNC    LOCAL  DEFAULT   33 name": address, size, type, …, section, name.
    for fields in (line.split() for line in readelf(binary, table).splitlines()):
        if len(fields) >= 8 and re.fullmatch(r"\d+:", fields[0]) and fields[6] != "UND":
            symbols.append((fields[3], int(fields[1], 16), int(fields[2], 0), fields[7]))
    return symbols


def test_release_binary_exports_no_symbols_of_its_own():
    """`scripts/build.sh` links without SwiftPM's --export-dynamic: the dynamic symbol table holds what the binary
    imports from its libraries, not the program's own functions (some 12,000 with it, 1.1 MB of table and strings
    that every process maps and the dynamic linker searches first at start-up)."""
    defined = [name for _, _, _, name in defined_symbols(need_gateway(), "--dyn-syms")]
    own = [name for name in defined if name.startswith("$s")]
    assert not own, f"{len(own)} Swift symbols exported, e.g. {own[:3]}"
    assert len(defined) < 100, f"{len(defined)} symbols defined in the dynamic symbol table"


def test_release_binary_packs_its_relative_relocations():
    """Where the machine has glibc 2.36 or later, `scripts/build.sh` packs the binary's relative relocations
    (DT_RELR): a few KB of bitmaps instead of 923 KB of RELA entries that each process would read at start."""
    binary = need_gateway()
    if not shutil.which("getconf"):
        pytest.skip("getconf is not installed")
    version = subprocess.run(["getconf", "GNU_LIBC_VERSION"], capture_output=True, text=True).stdout.split()
    if len(version) != 2 or tuple(int(part) for part in version[1].split(".")[:2]) < (2, 36):
        pytest.skip(f"{' '.join(version)}: scripts/build.sh packs relocations only with glibc 2.36 or later")
    sections = readelf(binary, "--section-headers")
    # "[ 9] .rela.dyn  RELA  <address> <offset> <size> …": each relocation section's size.
    section = re.compile(r"\s(\.rela?r?\.dyn)\s+\S+\s+\S+\s+\S+\s+([0-9a-f]+)")
    sizes = {name: int(size, 16) for name, size in section.findall(sections)}
    assert ".relr.dyn" in sizes, sections
    assert sizes.get(".rela.dyn", 0) < 64 * 1024, f"{sizes['.rela.dyn']} bytes of RELA relocations left"


SYMBOL_ORDER = ROOT / "scripts" / "symbol-order.txt"
# Mangled-name prefixes of the modules link-time optimisation compiles into the binary (the package's and SwiftNIO's):
# each of their functions gets a section of its own, which the linker can place where the ordering file says.
OPTIMISED_TOGETHER = ("$s6Worker", "$s6Shared", "$s7NIOCore", "$s8NIOPosix", "$s8NIOHTTP1")


def test_release_binary_lays_its_hot_functions_out_together():
    """`scripts/build.sh` hands the linker scripts/symbol-order.txt: the functions a worker runs while serving lie
    together, in the file's order, instead of spread over megabytes of text. Fails too once the file is stale, when
    fewer than half of the package's and NIO's functions it names are left in the binary (regenerate it with
    Benchmarks/scripts/symbol_order.sh)."""
    functions = {name: (address, size) for kind, address, size, name in defined_symbols(need_gateway(), "--syms")
                 if kind == "FUNC"}
    listed = [line.strip() for line in SYMBOL_ORDER.read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    movable = [name for name in listed if name.startswith(OPTIMISED_TOGETHER)]
    present = [name for name in movable if name in functions]
    assert len(movable) >= 300, f"{SYMBOL_ORDER.name} names only {len(movable)} of the package's and NIO's functions"
    assert len(present) * 2 >= len(movable), (
        f"{len(present)} of the {len(movable)} package and NIO functions {SYMBOL_ORDER.name} names are left in the "
        "binary: regenerate it (Benchmarks/scripts/symbol_order.sh)")
    hottest = present[:300]
    start = min(functions[name][0] for name in hottest)
    end = max(functions[name][0] + functions[name][1] for name in hottest)
    size = sum(functions[name][1] for name in hottest)
    # Laid out together they span about their own size (alignment and the odd function placed between them);
    # without the file, several megabytes.
    assert end - start <= 2 * size, f"the 300 hottest span {end - start} bytes for {size} bytes of code"
    addresses = [functions[name][0] for name in hottest]
    in_order = sum(1 for before, after in zip(addresses, addresses[1:]) if before < after)
    assert in_order >= 0.9 * (len(addresses) - 1), f"only {in_order} of {len(addresses) - 1} follow the file's order"


# ---- scripts ----------------------------------------------------------------------------------------------------


def test_every_script_is_checked():
    for name in ("scripts/bench.sh", "scripts/run.sh", "scripts/test.sh", "Benchmarks/scripts/fake_upstream.sh",
                 ".ci/run"):
        assert name in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_is_valid_bash(script):
    path = ROOT / script
    sourced = not path.read_text().startswith("#!")
    if sourced:
        assert "# shellcheck shell=bash" in path.read_text(), f"{path} is sourced: it needs a shell directive"
        assert not os.access(path, os.X_OK), f"{path} has no #! line but is executable"
    else:
        assert os.access(path, os.X_OK), f"{path} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)
    if shutil.which("shellcheck"):
        # -x follows `source` lines, from the directory of the script that names them.
        subprocess.run(["shellcheck", "-x", "-P", "SCRIPTDIR", "-S", "warning", str(path)], check=True, cwd=ROOT)


def test_scripts_start_standalone_workers_with_the_masters_allocator_setting():
    """Scripts that measure a standalone worker as a stand-in for a master's give it the GLIBC_TUNABLES value the
    master gives its workers (WorkerEnvironment.swift): the two must not drift apart."""
    source = (ROOT / "Sources" / "Master" / "WorkerEnvironment.swift").read_text()
    value = re.search(r'static let mallocTunables = "([^"]+)"', source).group(1)
    users = [script for script in SCRIPTS if "GLIBC_TUNABLES" in (ROOT / script).read_text()]
    assert {"scripts/instructions.sh", "Benchmarks/scripts/fake_upstream.sh"} <= set(users)
    for script in users:
        settings = re.findall(r"GLIBC_TUNABLES-([^}]*)}", (ROOT / script).read_text())
        assert settings and set(settings) == {value}, f"{script}: {settings}, the master's {value}"


# ---- .env.example -----------------------------------------------------------------------------------------------


def test_env_example_lists_every_option_with_its_default():
    options = config_options()
    assignments = env_example_assignments()
    names = {name for name, _, _ in options}
    missing = [name for name in names if name not in assignments]
    assert not missing, f".env.example lacks {missing}"
    unknown = sorted(set(assignments) - names)
    assert not unknown, f".env.example sets options the gateway does not know: {unknown}"
    for name, default, group in options:
        value, commented, section = assignments[name]
        assert section == group, f"{name} is under '{section}' in .env.example, its group is '{group}'"
        if default is None:  # computed in Swift: only MODEL_ALIASES, from ModelCatalog.defaultAliases
            assert name == "MODEL_ALIASES", f"cannot read the default of {name}"
            catalog = (ROOT / "Sources" / "Shared" / "Config" / "ModelCatalog.swift").read_text()
            aliases = re.search(r"defaultAliases = \[(.*?)\]", catalog, re.DOTALL).group(1)
            default = ",".join(re.findall(r'"([^"]+)"', aliases))
        assert value == default, f"{name}={value} in .env.example, the default is {default!r}"
        if commented:
            assert name == "ENV_FILE", f"{name} is commented out in .env.example"
    # Secrets are left empty.
    for secret in ("CEREBRAS_API_KEY", "CEREBRAS_API_KEYS", "GATEWAY_API_KEYS", "REDIS_URL"):
        assert assignments[secret][0] == "", f"{secret} must be empty in .env.example"


def test_env_example_is_accepted_by_check_config(tmp_path):
    binary = need_gateway()
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ENV_FILE": str(ENV_EXAMPLE)}
    result = subprocess.run([str(binary), "check-config"], env=base, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0, "check-config must refuse a configuration without keys"
    assert "GATEWAY_API_KEYS" in result.stderr or "CEREBRAS_API_KEY" in result.stderr, result.stderr
    keys = dict(base, CEREBRAS_API_KEY="csk-ship-test", GATEWAY_API_KEYS="ship-key")
    result = subprocess.run([str(binary), "check-config"], env=keys, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


# ---- systemd ----------------------------------------------------------------------------------------------------


def drain_default():
    return float(next(default for name, default, _ in config_options() if name == "DRAIN_TIMEOUT_SECONDS"))


def test_systemd_unit_contract():
    s = unit_settings()
    service = lambda key: s.get(("Service", key), [])  # noqa: E731
    assert service("Type") == ["notify"] and service("NotifyAccess") == ["main"]
    assert service("ExecStart") == ["/usr/local/bin/cerebras-gateway"]
    assert "/bin/kill -HUP $MAINPID" in service("ExecReload")
    assert any("ENV_FILE=/etc/cerebras-gateway/env" in e for e in service("Environment"))
    assert service("KillSignal") == ["SIGTERM"] and service("KillMode") == ["mixed"]
    assert seconds(service("TimeoutStopSec")[0]) > drain_default()
    assert seconds(service("WatchdogSec")[0]) == 30
    assert service("Restart") == ["on-failure"] and "3" in service("RestartPreventExitStatus")[0].split()
    assert service("LimitNOFILE") == ["65536"]
    assert service("User") == ["cerebras-gateway"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                "ProtectKernelModules", "LockPersonality", "MemoryDenyWriteExecute"):
        assert service(key) == ["yes"], key
    assert service("ProtectSystem") == ["strict"]
    assert service("RestrictAddressFamilies") == ["AF_INET AF_INET6 AF_UNIX"]
    assert service("SystemCallArchitectures") == ["native"]
    assert service("CapabilityBoundingSet") == [""]
    assert s.get(("Install", "WantedBy")) == ["multi-user.target"]


def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed")
    # verify insists that ExecStart's binary exists: point it at the built one, or at any executable.
    binary = str(GATEWAY) if GATEWAY.exists() else "/bin/true"
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/cerebras-gateway", binary))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if UNIT.name in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr

    security = subprocess.run([analyze, "security", "--offline=yes", str(unit)], capture_output=True, text=True,
                              timeout=60)
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout + security.stderr)
    if security.returncode != 0 and not match:
        return  # an older systemd-analyze without --offline
    assert match and float(match.group(1)) <= 3.0, security.stdout[-2000:]


def test_install_systemd_stages_into_destdir(tmp_path):
    fake_binary = tmp_path / "gateway-v1"
    fake_binary.write_text("#!/bin/sh\necho v1\n")
    fake_binary.chmod(0o755)
    dest = tmp_path / "root"
    script = ROOT / "scripts" / "install-systemd.sh"

    def install(*args, **env):
        result = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, **env))
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    out = install("--destdir", str(dest), "--binary", str(fake_binary))
    assert "systemctl enable --now cerebras-gateway" in out
    binary = dest / "usr/local/bin/cerebras-gateway"
    unit = dest / "etc/systemd/system/cerebras-gateway.service"
    config = dest / "etc/cerebras-gateway/env"
    assert binary.read_text() == fake_binary.read_text() and os.access(binary, os.X_OK)
    assert unit.read_text() == UNIT.read_text()
    assert config.read_text() == ENV_EXAMPLE.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o750

    # Again (an upgrade, through DESTDIR this time): new binary, secrets kept.
    config.write_text("CEREBRAS_API_KEY=csk-keep-me\n")
    fake_binary.write_text("#!/bin/sh\necho v2\n")
    out = install("--binary", str(fake_binary), DESTDIR=str(dest))
    assert "keeping the existing" in out
    assert config.read_text() == "CEREBRAS_API_KEY=csk-keep-me\n"
    assert "v2" in binary.read_text()

    # --dry-run prints the commands and changes nothing.
    dry = tmp_path / "dry"
    out = install("--dry-run", "--destdir", str(dry), "--binary", str(fake_binary))
    assert "+ install" in out
    assert list(dry.iterdir()) == []

    if os.geteuid() != 0:
        refused = subprocess.run([str(script), "--binary", str(fake_binary)], capture_output=True, text=True)
        assert refused.returncode != 0 and "root" in refused.stderr


# ---- compose, Prometheus, Grafana -------------------------------------------------------------------------------


def test_compose_fleet_shape():
    compose = load_yaml(COMPOSE)
    services = compose["services"]
    assert services["redis"]["image"].startswith("redis:7")
    gateway = services["gateway"]
    assert gateway["build"] in (".", {"context": "."})
    assert gateway["deploy"]["replicas"] == 3
    assert "ports" not in gateway, "replicas are reached through nginx; published ports would clash when scaled"
    env = gateway["environment"]
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert "RATE_LIMIT_ENABLED" in env and "CACHE_ENABLED" in env
    assert set(env) <= {name for name, _, _ in config_options()}, "unknown option in compose environment"
    assert int(env["DRAIN_TIMEOUT_SECONDS"]) < seconds(gateway["stop_grace_period"])
    nginx = services["nginx"]
    assert nginx["image"].startswith("nginx:")
    conf = compose["configs"][nginx["configs"][0]["source"]]["content"]
    assert "server gateway:8080" in conf and "proxy_buffering off" in conf
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert any("deploy/prometheus.yml" in v for v in prometheus["volumes"])


def nginx_site_config(upstreams, listen_port):
    """The compose file's nginx config, pointed at local gateways (nginx 1.22 here lacks `resolve`)."""
    conf = load_yaml(COMPOSE)["configs"]["nginx_conf"]["content"].replace("$$", "$")
    servers = "\n".join(f"        server {u};" for u in upstreams)
    conf = re.sub(r"^\s*server gateway:8080 resolve;$", servers, conf, flags=re.MULTILINE)
    return conf.replace("listen 8080;", f"listen 127.0.0.1:{listen_port};")


def write_nginx_config(directory: Path, upstreams, listen_port):
    (directory / "site.conf").write_text(nginx_site_config(upstreams, listen_port))
    temp = directory / "tmp"
    temp.mkdir(exist_ok=True)
    # As root, nginx's workers would run as `nobody`, which cannot enter pytest's private temporary directories.
    user = "user root;" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(f"""
{user}
pid {directory}/nginx.pid;
error_log stderr;
daemon off;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {directory}/site.conf;
}}
""")
    return directory / "nginx.conf"


def test_compose_nginx_config_is_valid(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        pytest.skip("nginx is not installed")
    conf = write_nginx_config(tmp_path, ["127.0.0.1:1"], free_port())
    result = subprocess.run([nginx, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_prometheus_scrapes_every_replica():
    config = load_yaml(PROMETHEUS)
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "cerebras-gateway")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    sd = job["dns_sd_configs"][0]
    assert "gateway" in sd["names"] and sd["port"] == 9090 and sd.get("type", "SRV") == "A"
    promtool = shutil.which("promtool")
    if promtool:
        subprocess.run([promtool, "check", "config", str(PROMETHEUS)], check=True, capture_output=True)


def dashboard_targets(panels):
    for panel in panels:
        for target in panel.get("targets", []):
            yield panel, target
        yield from dashboard_targets(panel.get("panels", []))


def test_grafana_dashboard_uses_existing_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert any(i["name"] == "DS_PROMETHEUS" and i["pluginId"] == "prometheus" for i in dashboard["__inputs"])
    families = metric_names()
    suffixes = ("_bucket", "_sum", "_count")
    exprs = [t["expr"] for _, t in dashboard_targets(dashboard["panels"])]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if v.get("definition")]
    assert len(exprs) >= 12
    used = set()
    for expr in exprs:
        names = re.findall(r"cerebras_gateway_[a-z_]+", expr)
        assert names, f"expression without a gateway metric: {expr}"
        for name in names:
            base = name
            for suffix in suffixes:
                if name.endswith(suffix) and name[: -len(suffix)] in families:
                    base = name[: -len(suffix)]
                    assert families[base] == "histogram", f"{name}: {base} is not a histogram"
            assert base in families, f"{name} in `{expr}` is not a MetricFamily"
            if base.endswith("_total"):
                assert re.search(rf"(rate|increase)\(\s*{name}\b", expr), f"counter {name} used without rate(): {expr}"
            used.add(base)
    for panel, target in dashboard_targets(dashboard["panels"]):
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    text = json.dumps(dashboard)
    assert "histogram_quantile(0.99, sum by (le" in text and "time_to_first_token_seconds_bucket" in text
    for family in ("requests_total", "request_duration_seconds", "time_to_first_token_seconds", "tokens_total",
                   "active_streams", "cache_requests_total", "rate_limited_total", "workers",
                   "worker_restarts_total", "reloads_total"):
        assert "cerebras_gateway_" + family in used, f"no panel shows {family}"


def test_docs_cover_every_metric_and_signal():
    monitoring = (ROOT / "docs" / "monitoring.md").read_text()
    for name in metric_names():
        assert name in monitoring, f"docs/monitoring.md does not describe {name}"
    assert "cerebras_gateway_fleet_" in monitoring and "max(" in monitoring and "sum(" in monitoring
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    for word in ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGTTIN", "SIGTTOU", "SIGUSR1", "stunnel", "spiped",
                 "ADMIN_HOST", "DRAIN_TIMEOUT_SECONDS", "install-systemd.sh", "smoke_test.sh"):
        assert word in deployment, f"docs/deployment.md does not mention {word}"


# ---- a running gateway --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """fake-cerebras and the release gateway (2 workers, admin listener on a free port)."""
    binary = need_gateway()
    fake = ManagedProcess([str(fake_cerebras_path()), "--port", "0", "--host", "127.0.0.1"], ready_prefix="LISTENING")
    gateway = None
    try:
        fake_port = int(fake.first_line.split()[1])
        env_file = tmp_path_factory.mktemp("ship") / "empty.env"
        env_file.write_text("")
        env = dict(os.environ)
        env.update({
            "HOST": "127.0.0.1", "PORT": "0", "ADMIN_HOST": "127.0.0.1", "ADMIN_PORT": "0", "WORKERS": "2",
            "CEREBRAS_API_KEY": "csk-ship-upstream", "CEREBRAS_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
            "GATEWAY_API_KEYS": SMOKE_KEY, "ENV_FILE": str(env_file), "LOG_LEVEL": "warning",
        })
        gateway = ManagedProcess([str(binary)], env=env, ready_prefix="READY")
        gateway.port = gateway.field("port")
        gateway.admin_port = gateway.field("admin_port")
        gateway.url = f"http://127.0.0.1:{gateway.port}"
        yield gateway
    finally:
        if gateway is not None:
            assert gateway.stop() == 0, "the gateway did not exit 0 on SIGTERM"
        fake.stop()


def smoke(url, key):
    return subprocess.run([str(ROOT / "scripts" / "smoke_test.sh"), url, key], capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, SMOKE_METRICS_WAIT="15"))


def test_smoke_test_passes_against_the_gateway(shipped):
    result = smoke(shipped.url, SMOKE_KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for check in ("health", "head-root", "models", "message", "stream", "count_tokens", "metrics"):
        assert any(line.startswith("ok") and f" {check} " in line for line in lines), result.stdout


def test_smoke_test_fails_with_a_wrong_key(shipped):
    result = smoke(shipped.url, "not-a-valid-key")
    assert result.returncode != 0, result.stdout
    assert "FAIL  message" in result.stdout


def test_smoke_test_fails_when_nothing_listens():
    result = smoke(f"http://127.0.0.1:{free_port()}", SMOKE_KEY)
    assert result.returncode != 0 and "FAIL  health" in result.stdout


def test_docker_healthcheck_command(shipped):
    command = healthcheck_command()
    assert command[0] == "bash"

    def probe(**env):
        return subprocess.run(command, env=dict(os.environ, **env), capture_output=True, timeout=30).returncode

    assert probe(ADMIN_PORT=str(shipped.admin_port), PORT="1") == 0
    assert probe(ADMIN_PORT="-1", PORT=str(shipped.port)) == 0, "admin listener disabled: probe the API port"
    assert probe(ADMIN_PORT=str(free_port()), PORT=str(shipped.port)) != 0


def test_smoke_test_passes_through_the_compose_nginx_config(shipped, tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        pytest.skip("nginx is not installed")
    port = free_port()
    conf = write_nginx_config(tmp_path, [f"127.0.0.1:{shipped.port}"], port)
    proxy = ManagedProcess([nginx, "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)])
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            assert proxy.proc.poll() is None, f"nginx exited: {getattr(proxy, 'logs', lambda: '')()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        result = smoke(f"http://127.0.0.1:{port}", SMOKE_KEY)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        proxy.stop(timeout=10)
