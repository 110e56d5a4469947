"""Static checks of the Cartesi machine image (Dockerfile, cartesi.toml, .dockerignore) and of
docker-compose.yml.

No Docker engine runs where the tests run, so these files are read, not built: a small parser
(continuations, comments, heredocs, exec form) stands in for BuildKit's, and a line reader for
YAML. They check what `cartesi build` relies on and what streamdex needs inside the machine.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest

from dapp.stats.config import MarketConfig
from devnet.chain import TEST_TOKENS

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
CARTESI_TOML = ROOT / "cartesi.toml"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"

MIB = 1 << 20
MACHINE_RAM = 128 * MIB
# DESIGN targets: 10 million open streams at no more than 200 bytes each.
STATE_BYTES = 10_000_000 * 200
# What the image may take from the build context: the application package and its requirements.
CONTEXT_SOURCES = {"dapp", "requirements.txt", "tokens.json"}
GUEST_TOOLS = re.compile(r"machine-(?:guest|emulator)-tools")


# --- a small Dockerfile reader -------------------------------------------------------------------

HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int
    heredocs: list[str] = field(default_factory=list)

    def flags_and_operands(self) -> tuple[dict[str, str], list[str]]:
        """Leading `--name=value` flags, then the operands (exec form or shell words)."""
        rest = self.args
        flags: dict[str, str] = {}
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.lstrip()
        operands = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        return flags, operands

    def exec_form(self) -> list[str]:
        """The JSON array of ENTRYPOINT/CMD; shell form would run through /bin/sh -c."""
        assert self.args.startswith("["), (
            f"line {self.line}: {self.keyword} must use the JSON (exec) form, got {self.args!r}"
        )
        value = json.loads(self.args)
        assert isinstance(value, list)
        return value

    def pairs(self) -> dict[str, str]:
        """key=value pairs of ENV and LABEL (and the legacy `ENV key value`)."""
        words = shlex.split(self.args)
        if words and "=" not in words[0]:
            return {words[0]: " ".join(words[1:])}
        return dict(word.split("=", 1) for word in words)

    def text(self) -> str:
        return "\n".join([self.args, *self.heredocs])


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order: comments and blank lines skipped, `\\` continuations joined (comment
    lines inside them too, as BuildKit does), heredoc bodies (`<<EOF` ... `EOF`) attached."""
    lines = text.splitlines()

    def skippable(raw: str) -> bool:
        return not raw.strip() or raw.lstrip().startswith("#")

    instructions = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if skippable(raw):
            continue
        number = i
        logical = raw.strip()
        while logical.endswith("\\"):
            while i < len(lines) and skippable(lines[i]):
                i += 1
            if i == len(lines):
                break
            logical = logical[:-1].rstrip() + " " + lines[i].strip()
            i += 1
        keyword, _, args = logical.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip(), number)
        if instruction.keyword in {"RUN", "COPY", "ADD"}:
            for match in HEREDOC.finditer(args):
                strip_tabs, word = match.group(1) == "-", match.group(3)
                body = []
                while True:
                    if i == len(lines):
                        raise ValueError(f"line {number}: heredoc {word} never ends")
                    raw = lines[i]
                    i += 1
                    if (raw.lstrip("\t") if strip_tabs else raw) == word:
                        break
                    body.append(raw)
                instruction.heredocs.append("\n".join(body))
        instructions.append(instruction)
    return instructions


@dataclass
class Stage:
    platform: str
    image: str
    alias: str | None
    instructions: list[Instruction]


def stages(instructions: list[Instruction]) -> list[Stage]:
    """Build stages, with `${ARG}` in FROM expanded from the global ARG defaults."""
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            flags, operands = instruction.flags_and_operands()
            image = re.sub(
                r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), operands[0]
            )
            alias = operands[2] if len(operands) == 3 and operands[1].upper() == "AS" else None
            result.append(Stage(flags.get("platform", ""), image, alias, []))
        elif result:
            result[-1].instructions.append(instruction)
        elif instruction.keyword == "ARG":
            name, _, default = instruction.args.partition("=")
            global_args[name.strip()] = default.strip().strip("\"'")
    return result


def final_image(instructions: list[Instruction]) -> tuple[Stage, list[Instruction]]:
    """The root stage of the image that is built (the last stage, followed through `FROM alias`)
    and the instructions that make up that image, in order."""
    all_stages = stages(instructions)
    assert all_stages, "the Dockerfile has no FROM"
    by_alias = {stage.alias: stage for stage in all_stages if stage.alias}
    chain = [all_stages[-1]]
    while chain[-1].image in by_alias:
        chain.append(by_alias[chain[-1].image])
    chain.reverse()
    return chain[0], [i for stage in chain for i in stage.instructions]


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def image(dockerfile: list[Instruction]) -> list[Instruction]:
    return final_image(dockerfile)[1]


def last(image: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in image if i.keyword == keyword]
    assert found, f"the image has no {keyword}"
    return found[-1]


def env(image: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in image:
        if instruction.keyword == "ENV":
            values.update(instruction.pairs())
    return values


def workdir(image: list[Instruction]) -> PurePosixPath:
    return PurePosixPath(last(image, "WORKDIR").args)


# --- a small cartesi.toml reader ---------------------------------------------------------------


def parse_toml_tables(text: str) -> dict[str, dict[str, object]]:
    """The flat subset cartesi.toml uses: [table.name] headers and key = "string" | integer |
    boolean lines, with # comments."""
    tables: dict[str, dict[str, object]] = {"": {}}
    current = tables[""]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([\w.-]+)\]\s*(#.*)?", line)
        if header:
            current = tables.setdefault(header.group(1), {})
            continue
        entry = re.fullmatch(
            r"([\w-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|-?\d+|true|false)\s*(#.*)?", line
        )
        assert entry, f"cartesi.toml line {number} is outside the subset read here: {raw!r}"
        key, value = entry.group(1), entry.group(2)
        if value.startswith('"'):
            current[key] = json.loads(value)
        elif value in {"true", "false"}:
            current[key] = value == "true"
        else:
            current[key] = int(value)
    return tables


def cli_size(value: object) -> int:
    """A size as the Cartesi CLI reads it: bytes, or a number with binary k/m/g/t units."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt])?i?b?", str(value).strip(), re.IGNORECASE)
    assert match, f"not a size: {value!r}"
    multiple = 1024 ** ("bkmgt".index(match.group(2).lower()) if match.group(2) else 0)
    return int(float(match.group(1)) * multiple)


def machine_size(value: str) -> int:
    """A cartesi-machine size such as 128Mi."""
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)?", value)
    assert match, f"not a machine size: {value!r}"
    units = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
    return int(match.group(1)) * units[match.group(2)]


@pytest.fixture(scope="module")
def cartesi_toml() -> dict[str, dict[str, object]]:
    assert CARTESI_TOML.is_file(), "cartesi.toml defines the data drive STREAMDEX_DB lives on"
    return parse_toml_tables(CARTESI_TOML.read_text())


def data_drives(toml: dict[str, dict[str, object]]) -> dict[PurePosixPath, dict[str, object]]:
    """The drives other than root, by mount point (the CLI's default is /mnt/<name>)."""
    drives = {}
    for table, keys in toml.items():
        name = table.removeprefix("drives.")
        if table.startswith("drives.") and name != "root" and keys.get("mount", True) is not False:
            mount = keys.get("mount")
            drives[PurePosixPath(mount if isinstance(mount, str) else f"/mnt/{name}")] = keys
    return drives


# --- the parser itself ---------------------------------------------------------------------------


def test_parser_reads_continuations_comments_heredocs_and_stages() -> None:
    text = "\n".join(
        [
            "# syntax=docker.io/docker/dockerfile:1",
            "ARG TAG=3.13",
            "FROM --platform=linux/riscv64 cartesi/python:${TAG} AS base",
            "RUN apt-get install -y \\",
            "  # a comment inside a continuation",
            "  busybox-static",
            "RUN <<EOF",
            "set -eu",
            "# not a Dockerfile comment: part of the script",
            "EOF",
            "FROM base",
            'ENTRYPOINT ["rollup-init"]',
        ]
    )
    instructions = parse_dockerfile(text)
    assert [i.keyword for i in instructions] == ["ARG", "FROM", "RUN", "RUN", "FROM", "ENTRYPOINT"]
    assert instructions[2].args == "apt-get install -y busybox-static"
    assert instructions[3].heredocs == ["set -eu\n# not a Dockerfile comment: part of the script"]
    root, image = final_image(instructions)
    assert (root.platform, root.image) == ("linux/riscv64", "cartesi/python:3.13")
    assert [i.keyword for i in image] == ["RUN", "RUN", "ENTRYPOINT"]


# --- the Dockerfile ------------------------------------------------------------------------------


def test_base_is_the_riscv64_cartesi_python_image(dockerfile: list[Instruction]) -> None:
    root, _ = final_image(dockerfile)
    assert root.platform == "linux/riscv64", "the Cartesi machine is RISC-V"
    assert re.fullmatch(r"(docker\.io/)?cartesi/python:[\w.-]+", root.image), root.image


def test_guest_tools_and_busybox_are_installed_from_a_pinned_download(
    image: list[Instruction],
) -> None:
    downloads = [
        i
        for i in image
        if i.keyword == "ADD" and any(GUEST_TOOLS.search(o) for o in i.flags_and_operands()[1])
    ]
    scripts = "\n".join(i.text() for i in image if i.keyword == "RUN")
    installed = re.search(
        r"(apt-get install|dpkg -i)[^\n]*machine-(guest|emulator)-tools\S*\.deb"
        r"|tar [^\n]*machine-(guest|emulator)-tools",
        scripts,
    )
    assert installed, "the guest tools package (rollup-init, rollup HTTP server) is not installed"
    fetched_in_script = re.search(r"(curl|wget)[^\n]*machine-(guest|emulator)-tools", scripts)
    assert downloads or fetched_in_script, "the guest tools are not downloaded"
    for download in downloads:
        flags, _ = download.flags_and_operands()
        assert flags.get("checksum", "").startswith("sha256:"), (
            f"line {download.line}: pin the guest tools download with ADD --checksum=sha256:..."
        )
    if fetched_in_script:
        assert re.search(r"sha(256|512)sum -c", scripts), "check the guest tools' checksum"
    assert re.search(r"apt-get install[^\n]*busybox", scripts), "cartesi-init runs on busybox"
    assert "/opt/cartesi/bin" in env(image).get("PATH", ""), "rollup-init must be on PATH"


def test_labels_name_the_sdk_and_at_least_the_machine_ram(
    image: list[Instruction], cartesi_toml: dict[str, dict[str, object]]
) -> None:
    labels: dict[str, str] = {}
    for instruction in image:
        if instruction.keyword == "LABEL":
            labels.update(instruction.pairs())
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", labels.get("io.cartesi.rollups.sdk_version", ""))
    ram = labels.get("io.cartesi.rollups.ram_size", "")
    assert machine_size(ram) >= MACHINE_RAM, f"ram_size {ram} is below the 128Mi DESIGN budgets for"
    machine = cartesi_toml.get("machine", {})
    configured = machine.get("ram_length", machine.get("ram-length", "128Mi"))  # CLI default 128Mi
    assert machine_size(str(configured)) == machine_size(ram), (
        f"cartesi.toml gives the machine {configured} of RAM, the label says {ram}"
    )


def test_entrypoint_is_rollup_init_and_cmd_runs_the_package(image: list[Instruction]) -> None:
    assert last(image, "ENTRYPOINT").exec_form() == ["rollup-init"]
    assert last(image, "CMD").exec_form() == ["python3", "-m", "dapp"]


def test_only_the_application_and_its_requirements_come_from_the_build_context(
    dockerfile: list[Instruction], image: list[Instruction]
) -> None:
    taken = set()
    for instruction in dockerfile:
        if instruction.keyword not in {"COPY", "ADD"}:
            continue
        flags, operands = instruction.flags_and_operands()
        if "from" in flags:
            continue  # another stage or image, not the build context
        for source in operands[:-1]:
            if source.startswith("<<"):
                continue  # a heredoc written into the image
            if instruction.keyword == "ADD" and re.match(r"https://", source):
                assert GUEST_TOOLS.search(source), f"line {instruction.line}: ADD of {source}"
                continue
            name = PurePosixPath(source).as_posix().removeprefix("./")
            assert name in CONTEXT_SOURCES, (
                f"line {instruction.line}: {source} from the build context; only dapp/, "
                "requirements.txt and tokens.json belong in the machine"
            )
            taken.add(name)
    assert taken == CONTEXT_SOURCES
    # `python3 -m dapp` runs in the image's WORKDIR (the CLI passes it to the machine).
    current = PurePosixPath("/")
    for instruction in image:
        if instruction.keyword == "WORKDIR":
            current = current / instruction.args
        elif instruction.keyword == "COPY":
            _, operands = instruction.flags_and_operands()
            if PurePosixPath(operands[0]).as_posix().removeprefix("./") == "dapp":
                assert current / operands[-1] == workdir(image) / "dapp", operands


def test_requirements_are_installed_before_the_code_is_copied(image: list[Instruction]) -> None:
    def first(found: Callable[[Instruction], bool]) -> int:
        indexes = [n for n, instruction in enumerate(image) if found(instruction)]
        assert indexes, "step not found"
        return indexes[0]

    def copies(name: str) -> Callable[[Instruction], bool]:
        def found(instruction: Instruction) -> bool:
            if instruction.keyword != "COPY":
                return False
            source = instruction.flags_and_operands()[1][0]
            return PurePosixPath(source).as_posix().removeprefix("./") == name

        return found

    def installs_requirements(instruction: Instruction) -> bool:
        pip = re.search(r"pip3? install[^\n]*-r requirements\.txt", instruction.text())
        return instruction.keyword == "RUN" and pip is not None

    pip = first(installs_requirements)
    assert first(copies("requirements.txt")) < pip < first(copies("dapp")), (
        "COPY requirements.txt, pip install, then COPY dapp: a code change must not reinstall"
    )


def test_state_lives_on_the_writable_data_drive_not_beside_the_code(
    image: list[Instruction], cartesi_toml: dict[str, dict[str, object]]
) -> None:
    values = env(image)
    assert values.get("ROLLUP_HTTP_SERVER_URL") == "http://127.0.0.1:5004"
    database = PurePosixPath(values.get("STREAMDEX_DB", ""))
    assert database.is_absolute(), f"STREAMDEX_DB={database} depends on the working directory"
    code = workdir(image)
    assert not database.is_relative_to(code), f"STREAMDEX_DB={database} is in the code directory"
    drives = data_drives(cartesi_toml)
    mounts = [mount for mount in drives if database.is_relative_to(mount)]
    assert mounts, f"STREAMDEX_DB={database} is on none of the data drives {sorted(drives)}"
    drive = drives[mounts[0]]
    assert drive.get("format", "ext2") == "ext2", "the state drive must be writable (ext2)"
    assert drive.get("user") == "dapp", "the application runs as dapp: it must own its drive"
    assert cli_size(drive.get("size", 0)) >= STATE_BYTES, "too small for 10 million streams"
    assert not re.search(r"[kmgt]ib?$", str(drive.get("size")), re.IGNORECASE), (
        "earlier CLI releases read sizes like 2Gi or 2GiB as 2 bytes: write 2GB"
    )


def test_the_market_configuration_in_the_image_loads_and_names_the_devnet_tokens(
    image: list[Instruction],
) -> None:
    """The image's STREAMDEX_TOKENS is the copied tokens.json, its stablecoin has decimals, and
    the addresses are those `make run` deploys (USDC 6 decimals, CTSI 18)."""
    values = env(image)
    assert values["STREAMDEX_TOKENS"] == str(workdir(image) / "tokens.json")
    config = MarketConfig.from_environment(
        {
            "STREAMDEX_TOKENS": str(ROOT / "tokens.json"),
            "STREAMDEX_STABLECOINS": values["STREAMDEX_STABLECOINS"],
        }
    )
    by_symbol = {info.symbol: (address, info.decimals) for address, info in config.tokens.items()}
    assert by_symbol["USDC"][1] == 6 and by_symbol["CTSI"][1] == 18
    assert config.stablecoins == (by_symbol["USDC"][0],)
    deployed = {spec.symbol: spec.decimals for spec in TEST_TOKENS}
    assert {symbol: decimals for symbol, (_, decimals) in by_symbol.items()} == deployed


def test_dockerignore_sends_only_the_application_to_the_builder() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]

    def matches(pattern: str, path: str) -> bool:
        pattern = pattern.rstrip("/")
        parts = path.split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]  # path and parents
        variants = {pattern, pattern.removeprefix("**/")}
        return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in variants)

    def sent(path: str) -> bool:
        """Docker's rule, approximately: the last pattern matching the path or a parent wins."""
        included = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            if matches(pattern.removeprefix("!"), path):
                included = negated
        return included

    for entry in sorted(p.name for p in ROOT.iterdir()):
        assert sent(entry) == (entry in CONTEXT_SOURCES), f"{entry} and the build context"
    application = [p.relative_to(ROOT).as_posix() for p in (ROOT / "dapp").rglob("*.py")]
    assert "dapp/__main__.py" in application
    assert all(sent(path) for path in [*application, "dapp/schema.sql"])
    for generated in ["dapp/__pycache__/store.cpython-313.pyc", "dapp/streamdex.sqlite"]:
        assert not sent(generated), generated


# --- docker-compose.yml --------------------------------------------------------------------------


def yaml_blocks(lines: list[str], indent: int) -> dict[str, list[str]]:
    """Keys at exactly `indent` spaces and the lines under each, for a block-style YAML file."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = len(line) - len(line.lstrip(" "))
        key = re.fullmatch(r"([\w.-]+):(\s.*)?", line[depth:])
        if depth == indent and key:
            current = blocks.setdefault(key.group(1), [])
        elif depth <= indent:
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_compose_defines_devnet_and_notebook() -> None:
    text = COMPOSE.read_text()
    lines = text.splitlines()
    assert "\t" not in text, "YAML indentation is spaces only"
    top = yaml_blocks(lines, 0)
    assert "services" in top and "version" not in top
    services = yaml_blocks(top["services"], 2)
    assert {"devnet", "notebook"} <= set(services)
    devnet = "\n".join(services["devnet"])
    notebook = "\n".join(services["notebook"])
    assert re.search(r"command:.*\bmake\b.*\brun\b", devnet), "devnet runs `make run`"
    assert re.search(r"python:3\.12", text), "a python:3.12 image"
    assert re.search(r"nodejs", text), "nodejs/npm for anvil and the Rollups contracts"
    for port in ("8080:8080", "8545:8545"):
        assert port in devnet, f"devnet publishes {port}"
    assert "8888:8888" in notebook and "Simulation.ipynb" in notebook
    assert re.search(r"depends_on:\s*\n\s*-\s*devnet\b", notebook), "notebook depends on devnet"
    for service in (devnet, notebook):
        assert re.search(r"-\s*\.:/\S+", service), "the repository is bind-mounted"
    # Named volumes and YAML aliases used by the services are declared.
    declared = set(yaml_blocks(top.get("volumes", []), 2))
    used = set(re.findall(r"^\s*-\s*([\w-]+):/", devnet + "\n" + notebook, re.MULTILINE))
    assert used <= declared, f"undeclared volumes {used - declared}"
    anchors = set(re.findall(r"&([\w-]+)", text))
    assert set(re.findall(r"\*([\w-]+)\s*$", text, re.MULTILINE)) <= anchors
    assert re.search(r"devnet", "\n".join(lines[:15])), "the header says what the devnet runs"
