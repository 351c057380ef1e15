"""docker-compose.yml, the Dockerfile and their configs agree with Settings, the CLI and Kafka.

No Docker engine is needed: the files are parsed, not run.
"""

import re
import tomllib
import xml.etree.ElementTree as ET

import pytest
import yaml

from saylau.cli.main import build_parser
from saylau.cli.wsgi import multi_process_problem
from saylau.core.settings import Settings
from saylau.kafka.topics import topic_names
from saylau.warehouse.client import parse_warehouse_url
from tests.support.compose import (
    COMPOSE_PATH,
    REPO_ROOT,
    command_args,
    dockerfile_env,
    dockerfile_instructions,
    env_references,
    exec_form,
    final_stage,
    is_long_running,
    is_required_reference,
    load_compose,
    published_ports,
    service_environment,
    services,
    with_defaults,
)

SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN")
SAYLAU_IMAGE = "saylau:local"
KAFKA_BROKERS = ("kafka-1", "kafka-2", "kafka-3")


@pytest.fixture(scope="module")
def compose():
    return load_compose(COMPOSE_PATH)


@pytest.fixture(scope="module")
def dockerfile():
    return dockerfile_instructions(REPO_ROOT / "Dockerfile")


def saylau_services(compose):
    """The services that run our image (and so the `saylau` command)."""
    return {name: svc for name, svc in services(compose).items()
            if "build" in svc or svc.get("image") == SAYLAU_IMAGE}


def services_with(compose, variable):
    return {name: service_environment(svc)[variable] for name, svc in services(compose).items()
            if variable in service_environment(svc)}


def subcommands():
    commands = next(action for action in build_parser()._actions
                    if action.dest == "command")
    return commands.choices


def compose_settings(service):
    """The Settings fields a service's SAYLAU_* variables give (required secrets filled in)."""
    return {variable.removeprefix("SAYLAU_").lower():
            "a-real-secret" if is_required_reference(value) else with_defaults(value)
            for variable, value in service_environment(service).items()
            if variable.startswith("SAYLAU_") and value is not None}


def kafka_env(compose, broker):
    return service_environment(services(compose)[broker])


# --- the helpers themselves -------------------------------------------------------------
def test_service_environment_reads_list_and_mapping_forms():
    listed = service_environment({"environment": ["A=1", "B=x=y", "C"]})
    mapped = service_environment({"environment": {"A": 1, "B": "x=y", "C": None, "D": False}})
    assert listed == {"A": "1", "B": "x=y", "C": None}
    assert mapped == {"A": "1", "B": "x=y", "C": None, "D": "false"}


def test_only_a_whole_required_reference_counts_as_a_secret_from_the_environment():
    assert is_required_reference("${DB_PASSWORD:?set it}")
    assert not is_required_reference("${DB_PASSWORD:-hunter2}")
    assert not is_required_reference("prefix-${DB_PASSWORD:?set it}")
    assert not is_required_reference("hunter2")
    assert [ref.name for ref in env_references("$${NOT_A_REF} ${A:-1}")] == ["A"]


def test_defaults_are_filled_in_and_required_references_refuse():
    assert with_defaults("${PREFIX:-saylau}.checkins costs $$5") == "saylau.checkins costs $5"
    with pytest.raises(ValueError, match="set it"):
        with_defaults("${DB_PASSWORD:?set it}")


def test_short_and_long_port_syntax_give_the_same_mapping():
    short, long, bound = published_ports({"ports": [
        "8050:8050", {"target": 8050, "published": "8050"}, "127.0.0.1:9000:9000/tcp"]})
    assert (short.published, short.target) == (long.published, long.target) == ("8050", 8050)
    assert (bound.host_ip, bound.published, bound.target) == ("127.0.0.1", "9000", 9000)


# --- every service ----------------------------------------------------------------------
def test_every_service_has_an_image_or_a_build(compose):
    missing = [name for name, svc in services(compose).items()
               if not svc.get("image") and not svc.get("build")]
    assert missing == []


def test_saylau_variables_on_services_are_settings_fields(compose):
    fields = {f"SAYLAU_{name.upper()}" for name in Settings.model_fields}
    unknown = {f"{service}: {variable}" for service, svc in services(compose).items()
               for variable in service_environment(svc)
               if variable.startswith("SAYLAU_") and variable not in fields}
    assert unknown == set()


def test_secrets_come_only_from_required_environment_references(compose):
    literal = {f"{service}: {variable}" for service, svc in services(compose).items()
               for variable, value in service_environment(svc).items()
               if any(word in variable.upper() for word in SECRET_WORDS)
               and not is_required_reference(value)}
    assert literal == set()
    assert services_with(compose, "SAYLAU_CLICKHOUSE_PASSWORD"), "no service gets the password"


def test_every_service_says_whether_it_restarts_or_runs_once(compose):
    undecided = [name for name, svc in services(compose).items() if "restart" not in svc]
    assert undecided == []


def test_every_long_running_service_has_a_healthcheck(compose):
    unchecked = [name for name, svc in services(compose).items() if is_long_running(svc)
                 and (not svc.get("healthcheck", {}).get("test")
                      or svc["healthcheck"].get("disable"))]
    assert unchecked == []


def test_services_wait_for_healthy_or_finished_dependencies(compose):
    wrong = []
    for name, svc in services(compose).items():
        for target, rule in (svc.get("depends_on") or {}).items():
            condition = rule.get("condition") if isinstance(rule, dict) else None
            dependency = services(compose)[target]
            if condition == "service_healthy" and "healthcheck" in dependency:
                continue
            if condition == "service_completed_successfully" and not is_long_running(dependency):
                continue
            wrong.append(f"{name} -> {target} ({condition})")
    assert wrong == []


def test_bind_mounted_files_exist_in_the_repository(compose):
    sources = [str(volume).split(":", 1)[0] for svc in services(compose).values()
               for volume in svc.get("volumes") or [] if str(volume).startswith("./")]
    assert sources, "expected the ClickHouse users file and the Prometheus config"
    assert [source for source in sources if not (REPO_ROOT / source).is_file()] == []


# --- Saylau's own services --------------------------------------------------------------
def test_compose_environment_gives_valid_settings(compose):
    for name, svc in saylau_services(compose).items():
        values = {}
        for variable, value in service_environment(svc).items():
            field = variable.removeprefix("SAYLAU_").lower()
            if variable.startswith("SAYLAU_") and value is not None:
                values[field] = ("a-real-secret" if is_required_reference(value)
                                 else with_defaults(value))
        Settings(**values)  # raises if a value does not fit its field
        assert values, f"{name} sets no SAYLAU_* variable"


def test_compose_commands_are_existing_saylau_subcommands(compose):
    commands = {name: command_args(svc) for name, svc in saylau_services(compose).items()}
    assert {"worker", "dashboard"} <= set(commands)
    for name, args in commands.items():
        assert args and args[0] in subcommands(), f"{name}: {args}"
        build_parser().parse_args(args)  # unknown options exit the test with an error
        assert "entrypoint" not in saylau_services(compose)[name], name


def test_dashboard_is_published_on_the_settings_default_port(compose):
    dashboard = services(compose)["dashboard"]
    default = Settings.model_fields["dashboard_port"].default
    port = int(service_environment(dashboard).get("SAYLAU_DASHBOARD_PORT") or default)
    (mapping,) = published_ports(dashboard)
    assert default == 8050 and port == default
    # A host port range: each replica of `--scale dashboard=N` takes one of its ports.
    first, _, last = mapping.published.partition("-")
    assert (int(first), mapping.target) == (default, port)
    assert int(last or first) > int(first), "one host port cannot serve scaled replicas"
    host = build_parser().parse_args(command_args(dashboard)).host
    assert host == "0.0.0.0", "the dashboard must listen beyond the container's loopback"


def test_worker_can_scale(compose):
    worker = services(compose)["worker"]
    assert "container_name" not in worker
    assert "hostname" not in worker
    assert "ports" not in worker
    assert command_args(worker) == ["worker"]


def test_warehouse_url_names_the_clickhouse_service(compose):
    urls = services_with(compose, "SAYLAU_WAREHOUSE")
    assert {"worker", "dashboard"} <= set(urls)
    for name, url in urls.items():
        spec = parse_warehouse_url(with_defaults(url))  # SAYLAU_WAREHOUSE may name the cluster
        assert (spec.engine, spec.host, spec.port) == ("clickhouse", "clickhouse", 9000), name
        assert spec.user != "default", f"{name}: use the saylau user, not the local-only default"
    assert "clickhouse" in services(compose)


def test_kafka_bootstrap_lists_every_broker(compose):
    bootstraps = services_with(compose, "SAYLAU_KAFKA_BOOTSTRAP")
    assert {"worker", "infra-init", "dashboard", "gateway"} <= set(bootstraps)
    for name, bootstrap in bootstraps.items():
        hosts = [address.rsplit(":", 1) for address in bootstrap.split(",")]
        assert sorted(host for host, _ in hosts) == list(KAFKA_BROKERS), name
        for host, port in hosts:
            advertised = kafka_env(compose, host)["KAFKA_ADVERTISED_LISTENERS"]
            assert advertised.endswith(f"//{host}:{port}"), f"{name}: {host}:{port}"


# --- Kafka ------------------------------------------------------------------------------
def test_kafka_is_three_kraft_brokers_that_are_also_controllers(compose):
    brokers = sorted(name for name, svc in services(compose).items()
                     if str(svc.get("image", "")).startswith("apache/kafka:3.9.")
                     and "KAFKA_NODE_ID" in service_environment(svc))
    assert brokers == list(KAFKA_BROKERS)
    envs = {broker: kafka_env(compose, broker) for broker in brokers}
    voters = {f"{env['KAFKA_NODE_ID']}@{broker}:9093" for broker, env in envs.items()}
    for broker, env in envs.items():
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", broker
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters, broker
        assert "ZOOKEEPER" not in " ".join(env), broker
        assert env["KAFKA_LOG_DIRS"] in {v.split(":")[1] for v in
                                         services(compose)[broker]["volumes"]}, broker
    assert len({env["CLUSTER_ID"] for env in envs.values()}) == 1
    assert len({env["KAFKA_NODE_ID"] for env in envs.values()}) == 3


def test_kafka_replicates_three_times_and_a_write_needs_two_brokers(compose):
    for broker in KAFKA_BROKERS:
        env = kafka_env(compose, broker)
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"


def test_kafka_keeps_every_event_and_never_creates_topics_on_first_use(compose):
    for broker in KAFKA_BROKERS:
        env = kafka_env(compose, broker)
        assert env["KAFKA_LOG_RETENTION_MS"] == "-1"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_infra_init_creates_every_topic_replicated_on_all_brokers_before_anyone_starts(compose):
    init = services(compose)["infra-init"]
    args = build_parser().parse_args(command_args(init))
    assert (args.command, args.infra_command) == ("infra", "init")
    assert not is_long_running(init)
    settings = Settings(**compose_settings(init))
    # `saylau infra init` creates exactly topic_names(prefix) (tests/operations/test_init.py).
    assert settings.topic_replication == len(KAFKA_BROKERS)
    assert settings.topic_min_insync_replicas == 2
    assert settings.topic_retention_ms == -1
    # with PREFIX.citizen (docs/citizen.md), .tabulation (docs/tabulation.md) and .refused
    assert len(topic_names(settings.topic_prefix)) == 11
    assert parse_warehouse_url(settings.warehouse).engine == "clickhouse", "and the schema"
    waits_for = {name: rule["condition"] for name, rule in init["depends_on"].items()}
    assert waits_for == {**dict.fromkeys(KAFKA_BROKERS, "service_healthy"),
                         "clickhouse": "service_healthy"}
    for name in ("worker", "simulate", "gateway", "dashboard", "exporter"):
        rule = services(compose)[name]["depends_on"]["infra-init"]
        assert rule["condition"] == "service_completed_successfully", name


def test_every_service_that_may_create_a_topic_creates_it_like_infra_init(compose):
    """Workers, the gateway and `saylau broker` create missing topics at start-up too."""
    wanted = {key: value for key, value in compose_settings(services(compose)["infra-init"])
              .items() if key.startswith("topic_")}
    assert set(wanted) >= {"topic_replication", "topic_min_insync_replicas",
                           "topic_retention_ms", "topic_partitions", "topic_prefix"}
    for name in services_with(compose, "SAYLAU_KAFKA_BOOTSTRAP"):
        found = compose_settings(services(compose)[name])
        assert {key: found.get(key) for key in wanted} == wanted, name


# --- ClickHouse -------------------------------------------------------------------------
def test_clickhouse_user_reads_its_password_from_the_environment(compose):
    clickhouse = services(compose)["clickhouse"]
    mount = next(str(v) for v in clickhouse["volumes"] if "users.d" in str(v))
    users = ET.parse(REPO_ROOT / mount.split(":")[0]).getroot().find("users")
    spec = parse_warehouse_url(with_defaults(services_with(compose, "SAYLAU_WAREHOUSE")["worker"]))
    user = users.find(spec.user)
    password = user.find("password")
    assert password.get("from_env") == "SAYLAU_CLICKHOUSE_PASSWORD"
    assert not (password.text or "").strip(), "no password literal in the users file"
    assert is_required_reference(service_environment(clickhouse)["SAYLAU_CLICKHOUSE_PASSWORD"])
    assert [db.text for db in user.find("allow_databases")] == [spec.database]
    local_only = {ip.text for ip in users.find("default/networks")}
    assert local_only == {"::1", "127.0.0.1"}


def test_clickhouse_keeps_its_data_in_a_volume(compose):
    volumes = services(compose)["clickhouse"]["volumes"]
    assert "clickhouse-data:/var/lib/clickhouse" in volumes
    assert "clickhouse-data" in compose["volumes"]
    assert "ports" not in services(compose)["clickhouse"]


# --- the Dockerfile and its build context -----------------------------------------------
def test_dockerfile_runs_the_saylau_command_as_an_unprivileged_user(dockerfile):
    stage = final_stage(dockerfile)
    last = {keyword: arguments for keyword, arguments in stage}
    assert last["FROM"] == "python:3.11-slim"
    assert exec_form(last["ENTRYPOINT"]) == ["saylau"]
    command = exec_form(last["CMD"])
    assert command[0] in subcommands()
    build_parser().parse_args(command)
    assert last["USER"] not in {"root", "0"}


def test_dockerfile_bakes_in_no_secret_and_only_settings_fields(dockerfile):
    env = dockerfile_env(dockerfile)
    fields = {f"SAYLAU_{name.upper()}" for name in Settings.model_fields}
    assert {name for name in env if name.startswith("SAYLAU_")} <= fields
    assert [name for name in env if any(word in name.upper() for word in SECRET_WORDS)] == []
    args = [arguments for keyword, arguments in dockerfile if keyword == "ARG"]
    assert [a for a in args if any(word in a.upper() for word in SECRET_WORDS)] == []


def test_build_context_holds_every_package_and_nothing_else():
    patterns = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in patterns if line.strip() and not line.startswith("#")]
    with open(REPO_ROOT / "pyproject.toml", "rb") as file:
        include = tomllib.load(file)["tool"]["setuptools"]["packages"]["find"]["include"]
    assert rules[0] == "*", "the build context must be an allow-list"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert {pattern.rstrip("*") for pattern in include} | {"pyproject.toml"} <= allowed
    assert not allowed & {".env", ".venv", "data", "tests", ".git"}


# --- gateway and observability ------------------------------------------------------------
def test_gateway_keeps_its_journal_in_a_volume_and_its_pepper_in_the_environment(compose):
    gateway = services(compose)["gateway"]
    env = service_environment(gateway)
    assert is_required_reference(env["SAYLAU_GATEWAY_TOKEN_PEPPER"])
    args = build_parser().parse_args(command_args(gateway))
    assert (args.gateway_host, args.gateway_port) == ("0.0.0.0", 8080)
    assert [(m.published, m.target) for m in published_ports(gateway)] == [("8080", 8080)]
    data_dir = with_defaults(env["SAYLAU_DATA_DIR"])
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in gateway["volumes"]}
    assert mounts[data_dir] in compose["volumes"], "the journal must outlive the container"
    assert "/healthz" in " ".join(gateway["healthcheck"]["test"])
    assert "deploy" not in gateway, "two gateways must never share one journal"


def test_workers_serve_metrics_on_an_exposed_port(compose):
    worker = services(compose)["worker"]
    port = service_environment(worker)["SAYLAU_WORKER_METRICS_PORT"]
    assert Settings(worker_metrics_port=port).worker_metrics_port > 0
    assert [str(p) for p in worker["expose"]] == [port]


def test_dashboard_can_read_the_worker_lag_for_its_status_page(compose):
    env = service_environment(services(compose)["dashboard"])
    worker = service_environment(services(compose)["worker"])
    assert env["SAYLAU_KAFKA_BOOTSTRAP"] == worker["SAYLAU_KAFKA_BOOTSTRAP"]
    assert env.get("SAYLAU_WORKER_GROUP") == worker.get("SAYLAU_WORKER_GROUP")
    assert env["SAYLAU_TOPIC_PREFIX"] == worker["SAYLAU_TOPIC_PREFIX"]


def test_prometheus_scrapes_every_saylau_process_where_it_serves_metrics(compose):
    prometheus = services(compose)["prometheus"]
    mount = next(str(v) for v in prometheus["volumes"] if "prometheus.yml" in str(v))
    config = yaml.safe_load((REPO_ROOT / mount.split(":")[0]).read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    (workers,) = jobs["saylau-worker"]["dns_sd_configs"]
    worker_port = service_environment(services(compose)["worker"])["SAYLAU_WORKER_METRICS_PORT"]
    assert (workers["names"], str(workers["port"])) == (["worker"], worker_port)
    gateway = build_parser().parse_args(command_args(services(compose)["gateway"]))
    assert jobs["saylau-gateway"]["static_configs"][0]["targets"] == \
        [f"gateway:{gateway.gateway_port}"]
    # Dashboard replicas scale too: one DNS address per replica.
    (dashboards,) = jobs["saylau-dashboard"]["dns_sd_configs"]
    dashboard_port = service_environment(services(compose)["dashboard"])["SAYLAU_DASHBOARD_PORT"]
    assert (dashboards["names"], str(dashboards["port"])) == (["dashboard"], dashboard_port)
    assert [m.host_ip for m in published_ports(prometheus)] == ["127.0.0.1"]


# --- dashboard replicas, gateway, exporter ---------------------------------------------------
def test_dashboard_runs_several_gunicorn_workers_on_the_clickhouse_server(compose):
    dashboard = services(compose)["dashboard"]
    args = build_parser().parse_args(command_args(dashboard))
    settings = Settings(**{**compose_settings(dashboard),
                           **({"dashboard_workers": args.dashboard_workers}
                              if args.dashboard_workers is not None else {})})
    assert settings.dashboard_workers > 1
    assert multi_process_problem(settings) is None, "chDB cannot serve several processes"
    assert multi_process_problem(settings.model_copy(update={"warehouse": "chdb://x"}))


def test_dashboard_replicas_can_scale(compose):
    dashboard = services(compose)["dashboard"]
    assert "container_name" not in dashboard and "hostname" not in dashboard
    assert int(dashboard.get("deploy", {}).get("replicas", 1)) >= 1
    assert "/" in " ".join(dashboard["healthcheck"]["test"])


def test_gateway_is_one_uvicorn_process_on_its_own_journal(compose):
    gateway = services(compose)["gateway"]
    assert "--workers" not in command_args(gateway)
    assert "deploy" not in gateway and "scale" not in gateway
    journal_volume = next(str(v).split(":")[0] for v in gateway["volumes"])
    sharing = [name for name, svc in services(compose).items() if name != "gateway"
               and any(str(v).split(":")[0] == journal_volume for v in svc.get("volumes") or [])]
    assert sharing == [], "a journal belongs to one gateway process"


def test_exporter_writes_bundles_the_dashboard_reads_read_only(compose):
    exporter, dashboard = services(compose)["exporter"], services(compose)["dashboard"]
    args = build_parser().parse_args(command_args(exporter))
    assert args.command == "export" and args.every and args.every > 0
    assert is_long_running(exporter)
    folder = with_defaults(service_environment(exporter)["SAYLAU_EXPORT_DIR"])
    assert with_defaults(service_environment(dashboard)["SAYLAU_EXPORT_DIR"]) == folder

    def mount_of(service):
        return next(str(v).split(":") for v in service["volumes"] if f":{folder}" in str(v))

    exporter_mount, dashboard_mount = mount_of(exporter), mount_of(dashboard)
    assert exporter_mount[0] == dashboard_mount[0] and exporter_mount[0] in compose["volumes"]
    assert exporter_mount[2:] in ([], ["rw"]), "the exporter writes"
    assert dashboard_mount[2:] == ["ro"], "the dashboard only reads"
    healthcheck = " ".join(exporter["healthcheck"]["test"])
    assert "SAYLAU_EXPORT_DIR" in healthcheck and "latest" in healthcheck
    assert str(int(args.every)) in healthcheck, "the health check follows the interval"


def test_image_prepares_the_exports_mount_point_for_its_user(dockerfile):
    runs = " ".join(arguments for keyword, arguments in final_stage(dockerfile)
                    if keyword == "RUN")
    compose = load_compose(COMPOSE_PATH)
    folder = service_environment(services(compose)["exporter"])["SAYLAU_EXPORT_DIR"]
    user = dict(final_stage(dockerfile))["USER"]
    assert re.search(rf"install -d -o {user} -g {user} .*{re.escape(folder)}", runs)


# --- The ClickHouse cluster (profile "cluster") -------------------------------------------
CLUSTER_CONFIG = REPO_ROOT / "infra/clickhouse/cluster/cluster.xml"


def cluster_services(compose):
    return {name: svc for name, svc in services(compose).items()
            if "cluster" in (svc.get("profiles") or [])}


def cluster_replicas(compose):
    """{service: (shard, replica)} of the cluster's ClickHouse servers."""
    return {name: (service_environment(svc)["CLUSTER_SHARD"],
                   service_environment(svc)["CLUSTER_REPLICA"])
            for name, svc in cluster_services(compose).items() if name != "keeper"}


def test_the_cluster_is_an_option_of_keeper_and_two_shards_of_two_replicas(compose):
    assert set(cluster_services(compose)) == {"keeper", "clickhouse-s1r1", "clickhouse-s1r2",
                                              "clickhouse-s2r1", "clickhouse-s2r2"}
    replicas = cluster_replicas(compose)
    assert sorted(replicas.values()) == [("01", "s1r1"), ("01", "s1r2"), ("02", "s2r1"),
                                         ("02", "s2r2")]
    for name, svc in cluster_services(compose).items():
        if name == "keeper":
            continue
        assert svc["depends_on"]["keeper"]["condition"] == "service_healthy", name
        assert svc["hostname"] == name, "replicas fetch parts from each other by host name"
        mounts = [str(v) for v in svc["volumes"]]
        assert f"{name}-data:/var/lib/clickhouse" in mounts and f"{name}-data" in compose["volumes"]
        assert any("cluster/cluster.xml:/etc/clickhouse-server/config.d/" in m for m in mounts)
        assert any("users.d/saylau.xml" in m for m in mounts)
        assert "ports" not in svc
    # Without the profile nothing changes: the single server remains what Saylau uses.
    assert "profiles" not in services(compose)["clickhouse"]


def test_the_cluster_config_names_each_replica_service_in_its_shard(compose):
    root = ET.parse(CLUSTER_CONFIG).getroot()
    [cluster] = list(root.find("remote_servers"))
    shards = {f"{number:02d}": [r.find("host").text for r in shard.findall("replica")]
              for number, shard in enumerate(cluster.findall("shard"), start=1)}
    assert all(shard.find("internal_replication").text == "true"
               for shard in cluster.findall("shard"))
    by_shard: dict[str, list[str]] = {}
    for name, (shard, _replica) in sorted(cluster_replicas(compose).items()):
        by_shard.setdefault(shard, []).append(name)
    assert shards == by_shard
    for replica in cluster.iter("replica"):  # servers query each other as saylau, no literal
        assert replica.find("user").text == "saylau"
        assert replica.find("password").get("from_env") == "SAYLAU_CLICKHOUSE_PASSWORD"
        assert not (replica.find("password").text or "").strip()
    assert {m.tag: m.get("from_env") for m in root.find("macros")} == {
        "shard": "CLUSTER_SHARD", "replica": "CLUSTER_REPLICA"}
    keeper = ET.parse(REPO_ROOT / "infra/clickhouse/cluster/keeper.xml").getroot()
    node = root.find("zookeeper/node")
    assert (node.find("host").text, node.find("port").text) == (
        "keeper", keeper.find("keeper_server/tcp_port").text)


def test_the_cluster_warehouse_url_names_the_cluster_and_every_replica(compose):
    url = compose["x-saylau-cluster-warehouse"]["SAYLAU_WAREHOUSE"]
    spec = parse_warehouse_url(url)
    [cluster] = list(ET.parse(CLUSTER_CONFIG).getroot().find("remote_servers"))
    assert spec.cluster == cluster.tag
    assert spec.user == "saylau"
    hosts = {f"{spec.host}:{spec.port}", *spec.alt_hosts}
    assert hosts == {f"{name}:9000" for name in cluster_replicas(compose)}
    # The default stays the single server; the cluster URL replaces it through .env.
    assert with_defaults(services_with(compose, "SAYLAU_WAREHOUSE")["worker"]) != url
